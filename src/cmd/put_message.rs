//! `ddb put-message`: access pattern C, one MSG# item with a fresh timestamp and uuid. The
//! GRP# rows are left to the stream handler, as in production.

use std::path::PathBuf;

use anyhow::Result;
use chrono::Utc;

use super::Ctx;
use crate::errors::{api_error, Failure, Subject};
use crate::fixture::{self, is_uuid};
use crate::item::{item_size, item_to_plain, to_plain};
use crate::model::{timestamp, Message, User};
use crate::output;
use crate::seed_plan::MAX_ITEM_BYTES;

/// A new timestamp per attempt: two writers in the same microsecond collide on the key.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("sender").required(true).args(["handle", "user_uuid"])))]
pub struct Args {
    /// The conversation (message_group_uuid)
    #[arg(long, value_name = "UUID")]
    pub group: String,

    /// Sender, by handle from the fixture's users
    #[arg(long, value_name = "HANDLE")]
    pub handle: Option<String>,

    /// Sender, by uuid (must be one of the fixture's users)
    #[arg(long, value_name = "UUID")]
    pub user_uuid: Option<String>,

    /// The message text
    #[arg(long, value_name = "TEXT")]
    pub message: String,

    /// Where the users come from [default: $DDB_FIXTURE or fixtures/seed.json]
    #[arg(long, value_name = "FILE")]
    pub fixture: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    if !is_uuid(&args.group) {
        return Err(invalid(format!(
            "--group: '{}' is not a uuid (8-4-4-4-12 hex digits)",
            args.group
        )));
    }
    if args.message.trim().is_empty() {
        return Err(invalid("--message: empty message".into()));
    }
    let path = args.fixture.unwrap_or_else(fixture::default_path);
    let sender = match (&args.handle, &args.user_uuid) {
        (Some(handle), _) => fixture::resolve_handle(&path, handle)?,
        (None, Some(uuid)) => by_uuid(&path, uuid)?,
        (None, None) => unreachable!("clap requires one of --handle, --user-uuid"),
    };
    let message = put(ctx, &args.group, &sender, &args.message).await?;
    render(ctx, &message)
}

fn invalid(msg: String) -> anyhow::Error {
    Failure::InvalidInput(msg).into()
}

fn by_uuid(path: &std::path::Path, uuid: &str) -> Result<User> {
    let fixture = fixture::load(path)?;
    match fixture
        .users
        .iter()
        .find(|u| u.uuid.eq_ignore_ascii_case(uuid))
    {
        Some(u) => Ok(u.to_user()),
        None => Err(invalid(format!(
            "--user-uuid: '{uuid}' is not a user in {} (users: {})",
            path.display(),
            fixture
                .users
                .iter()
                .map(|u| format!("{} {}", u.handle, u.uuid))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Write one message; the condition makes a same-microsecond collision an error to retry
/// instead of a silent overwrite.
pub async fn put(ctx: &Ctx, group: &str, sender: &User, text: &str) -> Result<Message> {
    let mut attempt = 1;
    loop {
        let message = Message {
            message_group_uuid: group.to_string(),
            created_at: timestamp(Utc::now()),
            message_uuid: uuid::Uuid::new_v4().to_string(),
            message: text.to_string(),
            user_uuid: sender.uuid.clone(),
            user_display_name: sender.display_name.clone(),
            user_handle: sender.handle.clone(),
        };
        let item = message.to_item();
        let size = item_size(&item);
        if size > MAX_ITEM_BYTES {
            return Err(invalid(format!(
                "--message: the item would be {size} bytes, over DynamoDB's 400 KB ({MAX_ITEM_BYTES} bytes) item limit"
            )));
        }
        let result = ctx
            .db
            .dynamodb
            .put_item()
            .table_name(&ctx.db.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => return Ok(message),
            Err(e)
                if attempt < MAX_ATTEMPTS
                    && e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                attempt += 1;
            }
            Err(e) => {
                return Err(api_error(
                    &ctx.db.target,
                    "PutItem",
                    Subject::Table(&ctx.db.table),
                    e,
                ))
            }
        }
    }
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
        table.add_row(vec![name.clone(), value]);
    }
    output::print_table(&table)
}
