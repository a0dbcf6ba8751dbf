//! `ddb get-conversation GROUP_UUID`: one conversation's messages (access pattern A), read
//! newest first and shown oldest -> newest like a chat.

use anyhow::Result;

use super::Ctx;
use crate::errors::Failure;
use crate::fixture::is_uuid;
use crate::model::{msg_pk, normalize_timestamp, Message};
use crate::output::{self, Style};
use crate::query::{self, SkRange};
use crate::render::{self, Row};
use crate::schema::Needs;
use crate::table;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The conversation (message_group_uuid)
    #[arg(value_name = "GROUP_UUID")]
    pub group: String,

    /// Show the N most recent messages
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Every message of the conversation, all pages (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Only messages from this year (UTC), e.g. 2026
    #[arg(long, value_name = "YYYY", conflicts_with_all = ["since", "until"])]
    pub year: Option<String>,

    /// Only messages at or after this RFC 3339 time, e.g. 2026-01-31T12:00:00Z
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only messages at or before this RFC 3339 time
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Report the read capacity consumed (summed over pages) on stderr
    #[arg(long)]
    pub capacity: bool,
}

/// The messages read, newest first, and what the read cost.
pub struct Conversation {
    pub messages: Vec<Message>,
    pub more: bool,
    pub pages: usize,
    pub capacity: Option<f64>,
}

impl Args {
    /// Check the arguments clap cannot (exit 8 names the bad value) and turn the time options
    /// into a sort-key range, before any request is made.
    fn range(&self) -> Result<SkRange> {
        if !is_uuid(&self.group) {
            return Err(invalid(format!(
                "GROUP_UUID '{}' is not a uuid (8-4-4-4-12 hex digits, e.g. 5ae290ed-55d1-47a0-bc6d-fe2bc2700399)",
                self.group
            )));
        }
        let time = |option: &str, value: &Option<String>| -> Result<Option<String>> {
            value
                .as_deref()
                .map(|v| normalize_timestamp(v).map_err(|e| invalid(format!("{option}: {e}"))))
                .transpose()
        };
        let (since, until) = (time("--since", &self.since)?, time("--until", &self.until)?);
        Ok(match (&self.year, since, until) {
            (Some(y), _, _) if y.len() != 4 || !y.chars().all(|c| c.is_ascii_digit()) => {
                return Err(invalid(format!(
                    "--year: '{y}' is not a 4-digit year (e.g. 2026)"
                )))
            }
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
    Failure::InvalidInput(message).into()
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let range = args.range()?;
    table::check_model(&ctx.db, Needs::Keys).await?;
    let limit = (!args.all).then_some(args.limit as usize);
    let conversation = fetch(ctx, &args.group, &range, limit, args.capacity).await?;
    if let Some(units) = conversation.capacity {
        output::note(format!(
            "consumed capacity: {units} RCU over {} page(s)",
            conversation.pages
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
    output::line(render_chat(&ctx.style, &chat))?;
    if conversation.more {
        output::note(format!(
            "showing the {} most recent; older messages may exist (--limit N or --all)",
            chat.len()
        ));
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
    let read = query::newest_first(&ctx.db, &msg_pk(group), range, limit, capacity).await?;
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

/// Messages as a chat: a date line when the local date changes, then
/// `handle  HH:MM  message` with the message wrapped under itself.
fn render_chat(style: &Style, chat: &[&Message]) -> String {
    let handle_width = chat
        .iter()
        .map(|m| m.user_handle.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(1, 24);
    // handle, two spaces, HH:MM, two spaces.
    let indent = handle_width + 2 + 5 + 2;
    let text_width = render::width(style).saturating_sub(indent).max(20);
    let wrap = textwrap::Options::new(text_width);
    let mut out = String::new();
    let mut last_date = None;
    for m in chat {
        let local = render::local_time(&m.created_at);
        let date = local.map(|t| t.date_naive());
        if date != last_date || out.is_empty() {
            let label = local.map_or_else(
                || m.created_at.clone(),
                |t| t.format("%a %Y-%m-%d").to_string(),
            );
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&style.dim(&format!("── {label} ──")));
            out.push('\n');
            last_date = date;
        }
        let time = local.map_or_else(|| "--:--".to_string(), |t| t.format("%H:%M").to_string());
        let handle = render::truncate(&m.user_handle, handle_width);
        let pad = handle_width - handle.chars().count();
        out.push_str(&style.bold(&handle));
        out.push_str(&" ".repeat(pad + 2));
        out.push_str(&style.dim(&time));
        out.push_str("  ");
        let lines = textwrap::wrap(&m.message, &wrap);
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
