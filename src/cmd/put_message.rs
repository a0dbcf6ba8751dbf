//! `ddb put-message`: access pattern C, one MSG# item with a fresh timestamp and uuid. The
//! GRP# rows are left to the stream handler, as in production.
//!
//! Written at most once: the message's uuid and timestamp are fixed before the first attempt
//! and kept across retries, the SDK's own retries are off (the run's `Backoff` paces and
//! counts them), and the write is conditional on the key being free. When the condition fails
//! (a retry after a lost response, or another writer in the same microsecond), the stored item
//! is read back: if it carries our message_uuid the earlier attempt landed and we are done;
//! otherwise the key is someone else's and the message takes the next microsecond.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::Ctx;
use crate::aws::pages::Pages;
use crate::aws::retry::{is_retryable, Stop, Tries};
use crate::aws::table;
use crate::errors::Failure;
use crate::model::fixture;
use crate::model::item::{get_s, item_size, item_to_plain, to_plain, Item, MAX_ITEM_BYTES};
use crate::model::schema::Needs;
use crate::model::{msg_pk, timestamp, Message, MessageGroup, User, GROUP_INDEX, GRP_PREFIX};
use crate::rows::plan::{whole_row_size, Target};
use crate::stream::follow::Follower;
use crate::term::output;
use crate::term::safe::terminal_safe;

/// Same-microsecond collisions with other writers tolerated before giving up.
const MAX_COLLISIONS: u32 = 3;
/// Pages of the group index read to find a conversation's rows (it has two).
const MAX_GROUP_PAGES: usize = 10;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("sender").required(true).args(["handle", "user_uuid"])))]
#[command(group(clap::ArgGroup::new("text").required(true).args(["message", "message_file"])))]
pub struct Args {
    /// The conversation (message_group_uuid)
    ///
    /// It must exist (its GRP# rows) unless --force.
    #[arg(long, value_name = "UUID", value_parser = crate::model::checked::uuid)]
    pub group: String,

    /// Sender, by handle from the fixture's users
    #[arg(long, value_name = "HANDLE")]
    pub handle: Option<String>,

    /// Sender, by uuid (one of the fixture's users)
    #[arg(long, value_name = "UUID")]
    pub user_uuid: Option<String>,

    /// The message text
    #[arg(long, value_name = "TEXT", value_parser = crate::model::checked::non_empty)]
    pub message: Option<String>,

    /// Read the message text from FILE ('-': stdin)
    ///
    /// One trailing newline is dropped.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,

    /// Where the users come from
    ///
    /// Default: $DDB_FIXTURE, else the built-in fixture.
    #[arg(long, value_name = "FILE")]
    pub fixture: Option<PathBuf>,

    /// Write even outside the conversation's participants
    ///
    /// Even if the conversation has no GRP# rows or the sender is not one of its two
    /// participants (deliberate test data).
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let text = match (&args.message, &args.message_file) {
        (Some(m), _) => m.clone(),
        (None, Some(path)) => read_message(path)?,
        (None, None) => unreachable!("clap requires one of --message, --message-file"),
    };
    let option = if args.message.is_some() {
        "--message"
    } else {
        "--message-file"
    };
    if text.trim().is_empty() {
        return Err(invalid(format!("{option}: empty message")));
    }
    let (fixture, name) = fixture::load_chosen(args.fixture)?;
    let known = match (&args.handle, &args.user_uuid) {
        (Some(handle), _) => Some(fixture::resolve_handle(&fixture, &name, handle)?),
        (None, Some(uuid)) => by_uuid(&fixture, uuid),
        (None, None) => unreachable!("clap requires one of --handle, --user-uuid"),
    };
    let needs = if args.force {
        Needs::Keys
    } else {
        Needs::KeysAndGroupIndex
    };
    let desc = table::check_model(&ctx.db, needs).await?;
    let indexed = desc
        .global_secondary_indexes()
        .iter()
        .any(|g| g.index_name() == Some(GROUP_INDEX));
    let rows = if indexed {
        group_rows(ctx, &args.group).await?
    } else {
        Vec::new()
    };
    // A sender not in the fixture is known by the conversation's rows: the other participant's
    // row names them.
    let sender = match known.or_else(|| named_by_rows(&rows, args.user_uuid.as_deref()?)) {
        Some(sender) => sender,
        None => return Err(not_a_user(&fixture, &name, &args.group, args.user_uuid)),
    };
    if !args.force {
        check_participant(ctx, &args.group, &rows, &sender)?;
    }
    let message = Message {
        message_group_uuid: args.group.clone(),
        created_at: timestamp(Utc::now()),
        message_uuid: uuid::Uuid::new_v4().to_string(),
        message: text,
        user_uuid: sender.uuid.clone(),
        user_display_name: sender.display_name.clone(),
        user_handle: sender.handle.clone(),
    };
    check_size(&message, &rows, &sender, option)?;
    let message = put(ctx, message).await?;
    render(ctx, &message)?;
    note_without_handler(ctx);
    Ok(())
}

/// The message item, and each GRP# row carrying its whole text (the rows found; without any,
/// the row that would name the sender), must fit DynamoDB's 400 KB: the handler would otherwise
/// carry only a preview. Every later attempt has the same sizes (the timestamp keeps its width).
fn check_size(message: &Message, rows: &[Item], sender: &User, option: &str) -> Result<()> {
    let size = item_size(&message.to_item());
    if size > MAX_ITEM_BYTES {
        return Err(invalid(format!(
            "{option}: the item would be {size} bytes, over DynamoDB's 400 KB ({MAX_ITEM_BYTES} bytes) item limit; nothing was written"
        )));
    }
    let target = Target {
        sk: message.created_at.clone(),
        message: message.message.clone(),
    };
    let assumed = MessageGroup::pair(&message.message_group_uuid, sender, sender, "", "");
    let assumed = assumed[0].to_item();
    let bases: Vec<&Item> = if rows.is_empty() {
        vec![&assumed]
    } else {
        rows.iter().collect()
    };
    let largest = bases
        .iter()
        .map(|row| whole_row_size(row, &target))
        .max()
        .unwrap_or(0);
    if largest > MAX_ITEM_BYTES {
        return Err(invalid(format!(
            "{option}: a GRP# row carrying this message would be {largest} bytes, over DynamoDB's 400 KB ({MAX_ITEM_BYTES} bytes) item limit (the rows also hold the other participant's names); nothing was written"
        )));
    }
    Ok(())
}

/// On DynamoDB Local nothing moves the GRP# rows unless a handler follows the stream (on AWS
/// the Lambda does): say so, once, on stderr.
fn note_without_handler(ctx: &Ctx) {
    let (Some(endpoint), true) = (&ctx.db.target.endpoint, ctx.db.target.local) else {
        return;
    };
    let Ok(dirs) = crate::aws::local::Dirs::current() else {
        return;
    };
    if !Follower::follows(&dirs, endpoint, &ctx.db.table) {
        output::note(format!(
            "note: no handler is running for table {}, so the conversation lists do not\n      \
             show this message yet; start one with `ddb local handler`",
            ctx.db.table
        ));
    }
}

fn invalid(msg: String) -> anyhow::Error {
    Failure::InvalidInput(msg).into()
}

/// The text of `--message-file` (`-`: stdin), one trailing newline dropped.
fn read_message(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| invalid(format!("--message-file -: cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| {
            invalid(format!(
                "--message-file: cannot read {}: {e}",
                path.display()
            ))
        })?;
    }
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// The fixture's user with this uuid, if any.
fn by_uuid(fixture: &fixture::Fixture, uuid: &str) -> Option<User> {
    fixture
        .users
        .iter()
        .find(|u| u.uuid.eq_ignore_ascii_case(uuid))
        .map(|u| u.to_user())
}

/// The participant `uuid` as a row of the conversation names them (the other participant's
/// row carries their handle and display name).
fn named_by_rows(rows: &[Item], uuid: &str) -> Option<User> {
    rows.iter()
        .find(|r| get_s(r, "user_uuid").is_some_and(|u| u.eq_ignore_ascii_case(uuid)))
        .map(|r| User {
            uuid: uuid.to_string(),
            handle: get_s(r, "user_handle").unwrap_or("").to_string(),
            display_name: get_s(r, "user_display_name").unwrap_or("").to_string(),
        })
}

/// `--user-uuid` names nobody we know: not in the fixture, not a participant in the table.
fn not_a_user(
    fixture: &fixture::Fixture,
    name: &str,
    group: &str,
    uuid: Option<String>,
) -> anyhow::Error {
    invalid(format!(
        "--user-uuid: '{}' is not a user in {name} (users: {}) nor a participant of conversation {group} in the table",
        uuid.unwrap_or_default(),
        fixture
            .users
            .iter()
            .map(|u| format!("{} {}", u.handle, u.uuid))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The conversation must exist (its GRP# rows, found through the group index) and the sender
/// must be one of its participants: the rows' owners and the "other user" they name.
fn check_participant(ctx: &Ctx, group: &str, rows: &[Item], sender: &User) -> Result<()> {
    if rows.is_empty() {
        return Err(Failure::NotFound(format!(
            "conversation {group} has no GRP# rows in table '{}': it does not exist (seed it first, or pass --force to write test data anyway)",
            ctx.db.table
        ))
        .into());
    }
    let mut participants: Vec<String> = Vec::new();
    for row in rows {
        let owner = get_s(row, "pk").and_then(|pk| pk.strip_prefix(GRP_PREFIX));
        for uuid in [owner, get_s(row, "user_uuid")].into_iter().flatten() {
            let uuid = uuid.to_lowercase();
            if !participants.contains(&uuid) {
                participants.push(uuid);
            }
        }
    }
    if participants.contains(&sender.uuid.to_lowercase()) {
        return Ok(());
    }
    Err(invalid(format!(
        "{} ({}) is not a participant of conversation {group} (participants: {}); pass --force to write test data anyway",
        sender.handle,
        sender.uuid,
        participants.join(", ")
    )))
}

/// The GRP# rows of a conversation (message items carry no message_group_uuid, so the index
/// holds only rows).
async fn group_rows(ctx: &Ctx, group: &str) -> Result<Vec<Item>> {
    let db = &ctx.db;
    let query = db
        .dynamodb
        .query()
        .table_name(&db.table)
        .index_name(GROUP_INDEX)
        .key_condition_expression("message_group_uuid = :g")
        .expression_attribute_values(":g", AttributeValue::S(group.to_string()));
    let mut pages = Pages::new(db, query)
        .on_index(GROUP_INDEX)
        .max_pages(MAX_GROUP_PAGES);
    let mut rows = Vec::new();
    while let Some(page) = pages
        .next()
        .await
        .with_context(|| format!("looking up conversation {group} in {GROUP_INDEX}"))?
    {
        rows.extend(
            page.items()
                .iter()
                .filter(|i| get_s(i, "pk").is_some_and(|pk| pk.starts_with(GRP_PREFIX)))
                .cloned(),
        );
    }
    if pages.more() {
        anyhow::bail!(
            "conversation {group} has more than {MAX_GROUP_PAGES} pages of rows in {GROUP_INDEX}"
        )
    }
    Ok(rows)
}

/// Write `message` at most once (see the module comment); returns it as stored. Its retries
/// are paced by the run's `Backoff` and counted on the run.
pub async fn put(ctx: &Ctx, message: Message) -> Result<Message> {
    let db = &ctx.db;
    let mut tries = db.backoff.tries(&db.cancel);
    let stored = put_tries(ctx, message, &mut tries).await;
    db.count_retries(tries.retries);
    stored
}

async fn put_tries(ctx: &Ctx, mut message: Message, tries: &mut Tries<'_>) -> Result<Message> {
    let db = &ctx.db;
    let mut collisions = 0;
    loop {
        let result = db
            .dynamodb
            .put_item()
            .table_name(&db.table)
            .set_item(Some(message.to_item()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(message),
            Err(e) => e,
        };
        if err
            .as_service_error()
            .is_some_and(|s| s.is_conditional_check_failed_exception())
        {
            if stored_is_ours(ctx, &message).await? {
                return Ok(message);
            }
            collisions += 1;
            if collisions >= MAX_COLLISIONS {
                return Err(db.table_error("PutItem", err)).with_context(|| {
                    format!("{collisions} other messages took this message's timestamp; nothing was written")
                });
            }
            // Nothing of ours is at the old key: take a fresh microsecond, same message_uuid.
            message.created_at = timestamp(Utc::now());
            continue;
        }
        if !is_retryable(&err) {
            return Err(db.table_error("PutItem", err));
        }
        if let Err(stop) = tries.pause(err).await {
            return Err(match stop {
                Stop::Cancelled(_) => Failure::Interrupted(format!(
                    "interrupted while retrying PutItem; message {} may or may not have been written (check with get-conversation)",
                    message.message_uuid
                ))
                .into(),
                stop => {
                    let attempts = tries.attempts();
                    db.table_error("PutItem", stop.into_error()).context(format!(
                        "PutItem failed {attempts} times; message {} may or may not have been written (check with get-conversation)",
                        message.message_uuid
                    ))
                }
            });
        }
    }
}

/// Read the item at the message's key (strongly consistent): is it the one we sent?
async fn stored_is_ours(ctx: &Ctx, message: &Message) -> Result<bool> {
    let db = &ctx.db;
    let out = db
        .send(|| {
            db.dynamodb
                .get_item()
                .table_name(&db.table)
                .key("pk", AttributeValue::S(msg_pk(&message.message_group_uuid)))
                .key("sk", AttributeValue::S(message.created_at.clone()))
                .consistent_read(true)
                .projection_expression("message_uuid")
                .send()
        })
        .await
        .map_err(|stop| db.stopped("GetItem", stop))
        .context("checking whether an earlier attempt wrote the message")?;
    Ok(out
        .item()
        .and_then(|i| get_s(i, "message_uuid"))
        .is_some_and(|id| id == message.message_uuid))
}

fn render(ctx: &Ctx, message: &Message) -> Result<()> {
    let item = message.to_item();
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &item_to_plain(&item));
    }
    let mut table = ctx.style.table(&["attribute", "value"]);
    let mut names: Vec<&String> = item.keys().collect();
    names.sort_by_key(|k| (k.as_str() != "pk", k.as_str() != "sk", k.as_str()));
    for name in names {
        let value = match to_plain(&item[name]) {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        table.add_row(vec![
            terminal_safe(name).into_owned(),
            terminal_safe(&value).into_owned(),
        ]);
    }
    output::print_table(&table)
}
