//! `ddb get-conversation GROUP_UUID`: one conversation's messages (access pattern A), read
//! newest first and shown oldest -> newest like a chat.

use anyhow::Result;

use super::Ctx;
use crate::aws::pages::Pages;
use crate::aws::table;
use crate::errors::Failure;
use crate::model::checked;
use crate::model::schema::Needs;
use crate::model::{msg_pk, Message};
use crate::read::explain::Explain;
use crate::read::partition::{self, SkRange};
use crate::read::render::{self, Row};
use crate::term::output::{self, Style};
use crate::term::plural;
use crate::term::safe::{self, terminal_safe, terminal_safe_lines};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation (message_group_uuid)
    #[arg(value_name = "GROUP_UUID", value_parser = checked::uuid)]
    pub group: String,

    /// Show the N most recent messages
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Every message, all pages (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Only messages from this year (UTC), e.g. 2026
    #[arg(long, value_name = "YYYY", conflicts_with_all = ["since", "until"], value_parser = checked::year)]
    pub year: Option<String>,

    /// Only messages at or after this RFC 3339 time
    ///
    /// For example 2026-01-31T12:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = checked::time)]
    pub since: Option<String>,

    /// Only messages at or before this RFC 3339 time
    #[arg(long, value_name = "TIME", value_parser = checked::time)]
    pub until: Option<String>,

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

/// The messages read, newest first, and what the read cost.
pub struct Conversation {
    pub messages: Vec<Message>,
    pub more: bool,
    pub pages: usize,
    pub capacity: Option<f64>,
}

impl Args {
    /// Turn the time options (each checked by clap) into a sort-key range; a window that ends
    /// before it starts is a usage error (exit 2), before any request is made.
    fn range(&self) -> Result<SkRange> {
        let (since, until) = (self.since.clone(), self.until.clone());
        Ok(match (&self.year, since, until) {
            (Some(y), _, _) => SkRange::Prefix(y.clone()),
            (None, Some(a), Some(b)) if a > b => {
                return Err(invalid(format!(
                    "--since {a} is after --until {b}: the window is empty"
                )))
            }
            (None, Some(a), Some(b)) => SkRange::Between(a, b),
            (None, Some(a), None) => SkRange::AtLeast(a),
            (None, None, Some(b)) => SkRange::AtMost(b),
            (None, None, None) => SkRange::All,
        })
    }
}

fn invalid(message: String) -> anyhow::Error {
    Failure::Usage(message).into()
}

/// `--explain`: the first Query of pattern A; needs no client.
pub fn explain(args: &Args, table: &str) -> Result<Explain> {
    let range = args.range()?;
    let limit = (!args.all).then_some(args.limit as usize);
    let request =
        partition::newest_first_request(table, &msg_pk(&args.group), &range, limit, args.capacity);
    Ok(Explain::new("Query", request.cli_json())
        .note("access pattern A: one conversation's MSG# partition, newest first (ScanIndexForward false); ddb shows the page oldest first, like a chat")
        .note(if limit.is_some() {
            "later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey and Limit = the messages still missing"
        } else {
            "later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey, until the partition ends (--all)"
        }))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let range = args.range()?;
    table::check_model(&ctx.db, Needs::Keys).await?;
    if args.all {
        return all(ctx, &args, &range).await;
    }
    let limit = Some(args.limit as usize);
    let conversation = fetch(ctx, &args.group, &range, limit, args.capacity).await?;
    if let Some(units) = conversation.capacity {
        output::note(format!(
            "consumed capacity: {units} RCU over {}",
            crate::term::plural(conversation.pages as u64, "page")
        ));
    }
    // Chat order: oldest first.
    let chat: Vec<&Message> = conversation.messages.iter().rev().collect();
    if ctx.style.is_json() {
        let rows: Vec<Row> = chat.iter().map(|m| row(m)).collect();
        return render::print_rows(ctx.style.format, &rows);
    }
    if chat.is_empty() {
        return output::line(format!(
            "no messages in conversation {}{}",
            args.group,
            range.describe()
        ));
    }
    output::line(Chat::default().render(&ctx.style, &chat))?;
    if conversation.more {
        output::note(format!(
            "showing the {} most recent; older messages may exist (--limit N or --all)",
            chat.len()
        ));
    }
    Ok(())
}

/// `--all`: the conversation oldest first, each page printed as it arrives (memory flat in
/// the conversation's length): one JSON array written incrementally, one row per line, or
/// the chat, its handle column as wide as the first page needs.
async fn all(ctx: &Ctx, args: &Args, range: &SkRange) -> Result<()> {
    let request =
        partition::chat_order_request(&ctx.db.table, &msg_pk(&args.group), range, args.capacity);
    let mut pages = Pages::new(&ctx.db, request.builder(&ctx.db.dynamodb));
    let mut rows = render::RowWriter::new(ctx.style.format);
    let mut chat = Chat::default();
    let mut capacity = 0.0;
    while let Some(page) = pages.next().await? {
        capacity += page
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
        let messages = page
            .items()
            .iter()
            .map(Message::from_item)
            .collect::<Result<Vec<_>>>()?;
        if ctx.style.is_json() {
            for m in &messages {
                rows.row(&row(m))?;
            }
        } else if !messages.is_empty() {
            let chunk: Vec<&Message> = messages.iter().collect();
            output::line(chat.render(&ctx.style, &chunk))?;
        }
        if output::stdout_closed() {
            break;
        }
    }
    if args.capacity {
        output::note(format!(
            "consumed capacity: {capacity} RCU over {}",
            plural(pages.pages() as u64, "page")
        ));
    }
    if ctx.style.is_json() {
        return rows.finish();
    }
    if chat.is_empty() {
        output::line(format!(
            "no messages in conversation {}{}",
            args.group,
            range.describe()
        ))?;
    }
    Ok(())
}

/// Query the conversation's messages newest first (at most `limit`, or all).
pub async fn fetch(
    ctx: &Ctx,
    group: &str,
    range: &SkRange,
    limit: Option<usize>,
    capacity: bool,
) -> Result<Conversation> {
    let read = partition::newest_first(&ctx.db, &msg_pk(group), range, limit, capacity).await?;
    let messages = read
        .items
        .iter()
        .map(Message::from_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(Conversation {
        messages,
        more: read.more,
        pages: read.pages,
        capacity: read.capacity,
    })
}

fn row(m: &Message) -> Row {
    Row {
        uuid: m.message_uuid.clone(),
        display_name: m.user_display_name.clone(),
        handle: m.user_handle.clone(),
        message: m.message.clone(),
        created_at: m.created_at.clone(),
    }
}

/// Messages as a chat, page by page: a date line when the local date changes, then
/// `handle  HH:MM  message` with the message wrapped under itself. What carries over between
/// pages: the last date shown and the handle column's width (set by the first page).
#[derive(Default)]
struct Chat {
    handle_width: Option<usize>,
    last_date: Option<Option<chrono::NaiveDate>>,
}

impl Chat {
    fn is_empty(&self) -> bool {
        self.handle_width.is_none()
    }

    fn render(&mut self, style: &Style, chat: &[&Message]) -> String {
        let handle_width = *self.handle_width.get_or_insert_with(|| {
            chat.iter()
                .map(|m| m.user_handle.chars().count())
                .max()
                .unwrap_or(0)
                .clamp(1, 24)
        });
        // handle, two spaces, HH:MM, two spaces.
        let indent = handle_width + 2 + 5 + 2;
        let text_width = style.width().saturating_sub(indent).max(20);
        let wrap = textwrap::Options::new(text_width);
        let mut out = String::new();
        for m in chat {
            let local = render::local_time(&m.created_at);
            let date = local.map(|t| t.date_naive());
            if self.last_date != Some(date) {
                let label = local.map_or_else(
                    || terminal_safe(&m.created_at).into_owned(),
                    |t| t.format("%a %Y-%m-%d").to_string(),
                );
                if self.last_date.is_some() {
                    out.push('\n');
                }
                out.push_str(&style.dim(&format!("── {label} ──")));
                out.push('\n');
                self.last_date = Some(date);
            }
            let time = local.map_or_else(|| "--:--".to_string(), |t| t.format("%H:%M").to_string());
            let handle = safe::truncate(&m.user_handle, handle_width);
            let pad = handle_width - handle.chars().count();
            out.push_str(&style.bold(&handle));
            out.push_str(&" ".repeat(pad + 2));
            out.push_str(&style.dim(&time));
            out.push_str("  ");
            // The message's own line breaks stay; every other control character is made visible.
            let lines: Vec<String> = terminal_safe_lines(&m.message)
                .iter()
                .flat_map(|l| textwrap::wrap(l, &wrap))
                .map(|l| l.into_owned())
                .collect();
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(l.trim_end());
                out.push('\n');
            }
            if lines.is_empty() {
                out.push('\n');
            }
        }
        out.truncate(out.trim_end().len());
        out
    }
}
