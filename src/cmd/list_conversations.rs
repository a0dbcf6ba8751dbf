//! `ddb list-conversations`: a user's conversations newest first (access pattern B), from the
//! user's own message-group rows (`GRP#<user_uuid>`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use comfy_table::{ColumnConstraint, Table};

use super::Ctx;
use crate::aws::table;
use crate::model::checked;
use crate::model::fixture;
use crate::model::schema::Needs;
use crate::model::{grp_pk, MessageGroup};
use crate::read::explain::Explain;
use crate::read::partition::{self, SkRange};
use crate::read::render::{self, Row};
use crate::term::fit;
use crate::term::output::{self, Style};
use crate::term::safe::{self, terminal_safe};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("user").required(true).args(["user_uuid", "handle"]))]
pub struct Args {
    /// Whose conversations (user uuid)
    #[arg(long, value_name = "UUID", value_parser = checked::uuid)]
    pub user_uuid: Option<String>,

    /// Whose conversations, by handle (the fixture's users)
    #[arg(long, value_name = "HANDLE")]
    pub handle: Option<String>,

    /// Fixture to resolve --handle with
    ///
    /// Default: $DDB_FIXTURE, else the built-in fixture.
    #[arg(long, value_name = "FILE", requires = "handle")]
    pub fixture: Option<PathBuf>,

    /// Show the N most recent conversations
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Every conversation, all pages (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Report the read capacity consumed on stderr
    ///
    /// Summed over pages.
    #[arg(long)]
    pub capacity: bool,

    /// Print the Query request and send nothing
    ///
    /// As JSON for `aws dynamodb query --cli-input-json`.
    #[arg(long)]
    pub explain: bool,
}

/// The user's conversations, newest first.
pub struct Conversations {
    pub groups: Vec<MessageGroup>,
    pub more: bool,
    pub pages: usize,
    pub capacity: Option<f64>,
}

impl Args {
    /// The user's uuid and how to name them in messages (the handle resolved in the fixture).
    fn user(&self) -> Result<(String, String)> {
        let args = self;
        Ok(match (&args.user_uuid, &args.handle) {
            (Some(uuid), _) => (uuid.clone(), uuid.clone()),
            (None, Some(handle)) => {
                let (fixture, name) = fixture::load_chosen(args.fixture.clone())?;
                let user = fixture::resolve_handle(&fixture, &name, handle)?;
                let who = format!("{} ({})", terminal_safe(&user.handle), user.uuid);
                (user.uuid, who)
            }
            (None, None) => bail!("pass --user-uuid UUID or --handle HANDLE"),
        })
    }
}

/// `--explain`: the first Query of pattern B; needs no client.
pub fn explain(args: &Args, table: &str) -> Result<Explain> {
    let (user_uuid, _) = args.user()?;
    let limit = (!args.all).then_some(args.limit as usize);
    let request = partition::newest_first_request(
        table,
        &grp_pk(&user_uuid),
        &SkRange::All,
        limit,
        args.capacity,
    );
    Ok(Explain::new("Query", request.cli_json())
        .note("access pattern B: the user's GRP# rows, newest first (ScanIndexForward false)")
        .note(if limit.is_some() {
            "later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey and Limit = the rows still missing"
        } else {
            "later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey, until the partition ends (--all)"
        }))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (user_uuid, who) = args.user()?;
    table::check_model(&ctx.db, Needs::Keys).await?;
    let limit = (!args.all).then_some(args.limit as usize);
    let list = fetch(ctx, &user_uuid, limit, args.capacity).await?;
    if let Some(units) = list.capacity {
        output::note(format!(
            "consumed capacity: {units} RCU over {}",
            crate::term::plural(list.pages as u64, "page")
        ));
    }
    if ctx.style.is_json() {
        let rows: Vec<Row> = list.groups.iter().map(row).collect();
        return render::print_rows(ctx.style.format, &rows);
    }
    if list.groups.is_empty() {
        return output::line(format!("no conversations for user {who}"));
    }
    let table = conversation_table(&ctx.style, &list.groups);
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
    let read = partition::newest_first(&ctx.db, &grp_pk(user_uuid), &SkRange::All, limit, capacity)
        .await?;
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

/// The conversations as a table for people: who with, the last message, when, and the
/// conversation's uuid (what a person copies next, so never cut). The message gets the width:
/// the name column is shown only when the message keeps at least `MESSAGE_MIN` characters,
/// and so is a column of its own for the uuid; without that room the uuid goes under the
/// message, on its own line. Every text is terminal-safe (`safe::truncate`, `terminal_safe`).
pub fn conversation_table(style: &Style, groups: &[MessageGroup]) -> Table {
    let now = chrono::Local::now();
    let when: Vec<String> = groups
        .iter()
        .map(|g| render::short_when(&g.last_message_at, now))
        .collect();
    let widest = |texts: &mut dyn Iterator<Item = String>, header: &str| {
        texts
            .map(|t| fit::chars(&t))
            .max()
            .unwrap_or(0)
            .max(header.len())
    };
    let handle = widest(&mut groups.iter().map(|g| safe(&g.other.handle)), "with");
    let name = widest(
        &mut groups.iter().map(|g| safe(&g.other.display_name)),
        "name",
    );
    let when_w = widest(&mut when.iter().cloned(), "when");
    // Short messages need less: a layout that shows them whole is enough.
    let longest = groups
        .iter()
        .map(|g| fit::chars(&safe::truncate(&g.message, 400)))
        .max()
        .unwrap_or(0);
    let wanted = MESSAGE_MIN.min(longest.max(12));
    let (layout, message_width) = if style.stdout_tty {
        let room = |fixed: usize, columns: usize| {
            style.width().saturating_sub(fixed + fit::overhead(columns))
        };
        let wide = room(handle + name + when_w + UUID, 5);
        let medium = room(handle + when_w + UUID, 4);
        if wide >= wanted {
            (Layout::Wide, wide.min(MESSAGE_MAX))
        } else if medium >= wanted {
            (Layout::Medium, medium.min(MESSAGE_MAX))
        } else {
            (Layout::Narrow, room(handle + when_w, 3).max(MESSAGE_MIN))
        }
    } else {
        (Layout::Wide, 60)
    };
    // A long handle gives way to the message (it stays at least 8 characters).
    let handle_width = if style.stdout_tty && layout == Layout::Narrow {
        let room = style
            .width()
            .saturating_sub(message_width + when_w + fit::overhead(3));
        room.max(8)
    } else {
        usize::MAX
    };
    let handle_of = |g: &MessageGroup| fit::cut(&safe(&g.other.handle), handle_width);
    let header: &[&str] = match layout {
        Layout::Wide => &["with", "name", "last message", "when", "conversation"],
        Layout::Medium => &["with", "last message", "when", "conversation"],
        Layout::Narrow => &["with", "last message / conversation", "when"],
    };
    let mut table = style.table(header);
    for (g, when) in groups.iter().zip(when) {
        let message = fit::cut(&safe::truncate(&g.message, 400), message_width);
        let uuid = safe(&g.message_group_uuid);
        let row = match layout {
            Layout::Wide => vec![
                safe(&g.other.handle),
                safe(&g.other.display_name),
                message,
                when,
                uuid,
            ],
            Layout::Medium => vec![safe(&g.other.handle), message, when, uuid],
            Layout::Narrow => vec![handle_of(g), format!("{message}\n{uuid}"), when],
        };
        table.add_row(row);
    }
    for i in 0..header.len() {
        if let Some(column) = table.column_mut(i) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// A uuid's width, and the room the last message gets.
const UUID: usize = 36;
const MESSAGE_MIN: usize = 44;
const MESSAGE_MAX: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Every column.
    Wide,
    /// Without the name.
    Medium,
    /// The uuid under the message.
    Narrow,
}

fn safe(text: &str) -> String {
    terminal_safe(text).into_owned()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::User;
    use crate::term::output::{OutputFormat, Style};

    fn terminal(columns: usize) -> Style {
        Style {
            format: OutputFormat::Table,
            color: false,
            stdout_tty: true,
            stderr_tty: false,
            columns: Some(columns),
        }
    }

    fn group(i: usize, handle: &str, message: &str) -> MessageGroup {
        MessageGroup {
            owner_uuid: "90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01".into(),
            last_message_at: format!("2026-11-2{i}T10:00:00.000000+00:00"),
            message_group_uuid: format!("5ae290ed-55d1-47a0-bc6d-fe2bc270039{i}"),
            message: message.into(),
            other: User {
                uuid: "1c9d2f6e-7a4b-4c3d-9e8f-0a1b2c3d4e5f".into(),
                handle: handle.into(),
                display_name: "Some Quite Long Display Name".into(),
            },
        }
    }

    #[test]
    fn uuids_stay_whole_at_80_and_120_columns() {
        let groups = [
            group(1, "andrewbrown", &"a long last message ".repeat(20)),
            group(2, "a_really_long_handle_indeed", "short"),
            group(3, "bayko", "esc \u{1b}]0;title\u{7}\u{1b}[2J"),
        ];
        for columns in [80, 120] {
            let text = conversation_table(&terminal(columns), &groups).to_string();
            for g in &groups {
                assert_eq!(
                    text.lines()
                        .filter(|l| l.contains(&g.message_group_uuid))
                        .count(),
                    1,
                    "uuid {} not whole on one line at {columns} columns:\n{text}",
                    g.message_group_uuid
                );
            }
            for line in text.lines() {
                assert!(
                    line.chars().count() <= columns,
                    "line wider than {columns}: {line}"
                );
            }
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{text}"
            );
            assert!(text.contains("\\e]"), "{text}");
        }
    }
}
