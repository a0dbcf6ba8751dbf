//! `ddb list-conversations`: a user's conversations newest first (access pattern B), from the
//! user's own message-group rows (`GRP#<user_uuid>`).

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::Ctx;
use crate::errors::Failure;
use crate::fixture::{self, is_uuid};
use crate::model::{grp_pk, MessageGroup};
use crate::output;
use crate::query::{self, SkRange};
use crate::render::{self, Row};
use crate::schema::Needs;
use crate::table;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("user").required(true).args(["user_uuid", "handle"]))]
pub struct Args {
    /// Whose conversations (user uuid)
    #[arg(long, value_name = "UUID")]
    pub user_uuid: Option<String>,

    /// Whose conversations, by handle looked up in the fixture's users
    #[arg(long, value_name = "HANDLE")]
    pub handle: Option<String>,

    /// Fixture to resolve --handle with [default: $DDB_FIXTURE, else the built-in fixture]
    #[arg(long, value_name = "FILE", requires = "handle")]
    pub fixture: Option<PathBuf>,

    /// Show the N most recent conversations
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Every conversation, all pages (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Report the read capacity consumed (summed over pages) on stderr
    #[arg(long)]
    pub capacity: bool,
}

/// The user's conversations, newest first.
pub struct Conversations {
    pub groups: Vec<MessageGroup>,
    pub more: bool,
    pub pages: usize,
    pub capacity: Option<f64>,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (user_uuid, who) = match (&args.user_uuid, &args.handle) {
        (Some(uuid), _) if !is_uuid(uuid) => {
            return Err(Failure::InvalidInput(format!(
                "--user-uuid: '{uuid}' is not a uuid (8-4-4-4-12 hex digits)"
            ))
            .into())
        }
        (Some(uuid), _) => (uuid.clone(), uuid.clone()),
        (None, Some(handle)) => {
            let (fixture, name) = fixture::load_chosen(args.fixture.clone())?;
            let user = fixture::resolve_handle(&fixture, &name, handle)?;
            let who = format!("{} ({})", user.handle, user.uuid);
            (user.uuid, who)
        }
        (None, None) => bail!("pass --user-uuid UUID or --handle HANDLE"),
    };
    table::check_model(&ctx.db, Needs::Keys).await?;
    let limit = (!args.all).then_some(args.limit as usize);
    let list = fetch(ctx, &user_uuid, limit, args.capacity).await?;
    if let Some(units) = list.capacity {
        output::note(format!(
            "consumed capacity: {units} RCU over {} page(s)",
            list.pages
        ));
    }
    if ctx.style.is_json() {
        let rows: Vec<Row> = list.groups.iter().map(row).collect();
        return render::print_rows(ctx.style.format, &rows);
    }
    if list.groups.is_empty() {
        return output::line(format!("no conversations for user {who}"));
    }
    // On a terminal the last message gets what the other columns and the borders (3 per
    // column) leave over.
    let message_width = if ctx.style.stdout_tty {
        let widest = |f: fn(&MessageGroup) -> &str| {
            list.groups
                .iter()
                .map(|g| f(g).chars().count())
                .max()
                .unwrap_or(0)
        };
        let others = widest(|g| &g.other.handle) + widest(|g| &g.other.display_name) + 16 + 36;
        render::width(&ctx.style)
            .saturating_sub(others + 5 * 3 + 1)
            .clamp(20, 100)
    } else {
        60
    };
    let mut table = ctx
        .style
        .table(&["with", "name", "last message", "when", "conversation"]);
    for g in &list.groups {
        table.add_row([
            g.other.handle.clone(),
            g.other.display_name.clone(),
            render::truncate(&g.message, message_width),
            render::local_datetime(&g.last_message_at),
            g.message_group_uuid.clone(),
        ]);
    }
    output::print_table(&table)?;
    if list.more {
        output::note(format!(
            "showing the {} most recent; more may exist (--limit N or --all)",
            list.groups.len()
        ));
    }
    Ok(())
}

/// Query the user's message-group rows newest first (at most `limit`, or all).
pub async fn fetch(
    ctx: &Ctx,
    user_uuid: &str,
    limit: Option<usize>,
    capacity: bool,
) -> Result<Conversations> {
    let read =
        query::newest_first(&ctx.db, &grp_pk(user_uuid), &SkRange::All, limit, capacity).await?;
    let groups = read
        .items
        .iter()
        .map(MessageGroup::from_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(Conversations {
        groups,
        more: read.more,
        pages: read.pages,
        capacity: read.capacity,
    })
}

fn row(g: &MessageGroup) -> Row {
    Row {
        uuid: g.message_group_uuid.clone(),
        display_name: g.other.display_name.clone(),
        handle: g.other.handle.clone(),
        message: g.message.clone(),
        created_at: g.last_message_at.clone(),
    }
}
