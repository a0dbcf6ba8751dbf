//! The single-table model: messages (`MSG#<group>`) and one message-group row per participant
//! (`GRP#<user>`), their key builders, and conversion to and from items.

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::model::item::{get_s, Item};

pub const MSG_PREFIX: &str = "MSG#";
pub const GRP_PREFIX: &str = "GRP#";
/// GSI over message_group_uuid + sk: finds both GRP# rows of a conversation.
pub const GROUP_INDEX: &str = "message-group-sk-index";

pub fn msg_pk(message_group_uuid: &str) -> String {
    format!("{MSG_PREFIX}{message_group_uuid}")
}

pub fn grp_pk(user_uuid: &str) -> String {
    format!("{GRP_PREFIX}{user_uuid}")
}

/// The sort-key timestamp: RFC 3339, UTC, microseconds, `+00:00` (what Python's
/// `datetime.now(timezone.utc).isoformat()` wrote in the original scripts). Fixed width, so
/// string order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// Parse a timestamp as the app writes them: RFC 3339 with `Z` or any offset, or ISO 8601
/// without an offset (Python's `datetime.now().isoformat()`), which is taken as UTC; with or
/// without fractions of a second, `T` or a space between date and time. Exactly as stored:
/// a sort key with a leading or trailing space is not a timestamp (it sorts apart from every
/// timestamp, so treating it as one would put it where a newest-first read never looks).
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>> {
    let t = s;
    // chrono's parsers skip spaces before a field: refuse them here.
    if !as_stored(t) {
        anyhow::bail!("'{s}' is not an RFC 3339 timestamp: it starts or ends with something other than a digit or an offset");
    }
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(t) {
        return Ok(with_offset.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f"))
        .map(|naive| naive.and_utc())
        .with_context(|| {
            format!("'{s}' is not an RFC 3339 timestamp (the offset may be left out for UTC; e.g. 2026-01-31T12:00:00Z, 2026-01-31T08:00:00.123456-04:00, 2026-01-31T12:00:00)")
        })
}

/// The order of two sort-key timestamps: by instant, then by the string (two spellings of one
/// instant, e.g. `...Z` and `...+00:00`, still have a fixed order). A value that is not a
/// timestamp sorts before every timestamp, and among such values by the string.
pub fn compare_sk(a: &str, b: &str) -> Ordering {
    let instant = |s: &str| parse_timestamp(s).ok();
    instant(a).cmp(&instant(b)).then_with(|| a.cmp(b))
}

/// `a` is strictly newer than `b` (see `compare_sk`).
pub fn is_newer(a: &str, b: &str) -> bool {
    compare_sk(a, b) == Ordering::Greater
}

/// The wall-clock reading of a timestamp with its offset ignored (`2026-01-31T08:00:00-04:00`
/// reads 08:00): string order of sort keys follows this reading, and the true instant is within
/// a day of it, which lets a descending query stop early.
pub fn wall_clock(s: &str) -> Option<NaiveDateTime> {
    if !as_stored(s) {
        return None;
    }
    let head = s.get(..19)?;
    NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(head, "%Y-%m-%d %H:%M:%S"))
        .ok()
}

/// A timestamp as stored starts with a digit (the year) and ends with one or an offset's
/// letter: no space around it.
fn as_stored(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && !s.ends_with(char::is_whitespace)
}

/// Normalise a user-supplied timestamp (an option, a fixture's time; spaces around it are
/// dropped) to the sort-key form.
pub fn normalize_timestamp(s: &str) -> Result<String> {
    parse_timestamp(s.trim()).map(timestamp)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub uuid: String,
    pub handle: String,
    pub display_name: String,
}

/// A message item: `pk = MSG#<group>`, `sk = created_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub message_group_uuid: String,
    pub created_at: String,
    pub message_uuid: String,
    pub message: String,
    pub user_uuid: String,
    pub user_display_name: String,
    pub user_handle: String,
}

impl Message {
    pub fn to_item(&self) -> Item {
        Item::from([
            ("pk".into(), s(msg_pk(&self.message_group_uuid))),
            ("sk".into(), s(&self.created_at)),
            ("message_uuid".into(), s(&self.message_uuid)),
            ("message".into(), s(&self.message)),
            ("user_uuid".into(), s(&self.user_uuid)),
            ("user_display_name".into(), s(&self.user_display_name)),
            ("user_handle".into(), s(&self.user_handle)),
        ])
    }

    pub fn from_item(item: &Item) -> Result<Message> {
        let pk = required(item, "pk")?;
        let Some(group) = pk.strip_prefix(MSG_PREFIX) else {
            bail!("item with pk '{pk}' is not a message (expected {MSG_PREFIX}…)");
        };
        Ok(Message {
            message_group_uuid: group.to_string(),
            created_at: required(item, "sk")?.to_string(),
            message_uuid: required(item, "message_uuid")?.to_string(),
            message: required(item, "message")?.to_string(),
            user_uuid: required(item, "user_uuid")?.to_string(),
            user_display_name: get_s(item, "user_display_name").unwrap_or("").to_string(),
            user_handle: get_s(item, "user_handle").unwrap_or("").to_string(),
        })
    }
}

/// A message-group row: owned by `owner_uuid` (`pk = GRP#<owner>`), `sk = last_message_at`,
/// describing the OTHER participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageGroup {
    pub owner_uuid: String,
    pub last_message_at: String,
    pub message_group_uuid: String,
    pub message: String,
    pub other: User,
}

impl MessageGroup {
    pub fn to_item(&self) -> Item {
        Item::from([
            ("pk".into(), s(grp_pk(&self.owner_uuid))),
            ("sk".into(), s(&self.last_message_at)),
            ("message_group_uuid".into(), s(&self.message_group_uuid)),
            ("message".into(), s(&self.message)),
            ("user_uuid".into(), s(&self.other.uuid)),
            ("user_display_name".into(), s(&self.other.display_name)),
            ("user_handle".into(), s(&self.other.handle)),
        ])
    }

    pub fn from_item(item: &Item) -> Result<MessageGroup> {
        let pk = required(item, "pk")?;
        let Some(owner) = pk.strip_prefix(GRP_PREFIX) else {
            bail!("item with pk '{pk}' is not a message group (expected {GRP_PREFIX}…)");
        };
        Ok(MessageGroup {
            owner_uuid: owner.to_string(),
            last_message_at: required(item, "sk")?.to_string(),
            message_group_uuid: required(item, "message_group_uuid")?.to_string(),
            message: get_s(item, "message").unwrap_or("").to_string(),
            other: User {
                uuid: required(item, "user_uuid")?.to_string(),
                handle: get_s(item, "user_handle").unwrap_or("").to_string(),
                display_name: get_s(item, "user_display_name").unwrap_or("").to_string(),
            },
        })
    }

    /// Both rows of a conversation between `a` and `b`, each describing the other.
    pub fn pair(
        group: &str,
        a: &User,
        b: &User,
        last_at: &str,
        last_message: &str,
    ) -> [MessageGroup; 2] {
        let row = |owner: &User, other: &User| MessageGroup {
            owner_uuid: owner.uuid.clone(),
            last_message_at: last_at.to_string(),
            message_group_uuid: group.to_string(),
            message: last_message.to_string(),
            other: other.clone(),
        };
        [row(a, b), row(b, a)]
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn required<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    get_s(item, name).with_context(|| format!("item is missing string attribute '{name}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_have_microseconds_and_sort() {
        let t = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
        assert_eq!(timestamp(t), "2026-03-04T05:06:07.000000+00:00");
        assert_eq!(
            normalize_timestamp("2026-03-04T07:06:07.5+02:00").unwrap(),
            "2026-03-04T05:06:07.500000+00:00"
        );
        assert!(normalize_timestamp("yesterday").is_err());
        let a = timestamp(t);
        let b = timestamp(t + chrono::Duration::microseconds(1));
        assert!(a < b);
    }

    #[test]
    fn the_apps_timestamps_parse_and_compare_by_instant() {
        let utc = |s: &str| parse_timestamp(s).unwrap();
        // Python's datetime.now().isoformat(): no offset, taken as UTC; with and without
        // microseconds (isoformat drops them when they are zero).
        assert_eq!(
            timestamp(utc("2026-11-25T15:13:25.012737")),
            "2026-11-25T15:13:25.012737+00:00"
        );
        assert_eq!(
            timestamp(utc("2026-11-25T15:13:25")),
            "2026-11-25T15:13:25.000000+00:00"
        );
        assert_eq!(
            utc("2026-11-25T11:13:25-04:00"),
            utc("2026-11-25T15:13:25Z")
        );
        assert_eq!(
            utc("2026-11-25 15:13:25.5"),
            utc("2026-11-25T15:13:25.500+00:00")
        );
        assert!(parse_timestamp("2026-13-01T00:00:00").is_err());
        // A sort key is a timestamp exactly as stored: with a space around it, it is not one
        // (it sorts before every timestamp, as compare_sk says), whatever it reads as.
        assert!(parse_timestamp(" 2026-11-25T15:13:25Z").is_err());
        assert!(parse_timestamp("2026-11-25T15:13:25Z ").is_err());
        assert!(is_newer("2020-01-01T00:00:00Z", " 2030-01-01T00:00:00Z"));
        assert_eq!(wall_clock(" 2026-11-25T15:13:25"), None);
        assert_eq!(
            normalize_timestamp(" 2026-11-25T15:13:25Z ").unwrap(),
            "2026-11-25T15:13:25.000000+00:00"
        );
        // Newer by instant, not by string: 12:00-04:00 is 16:00 UTC.
        assert!(is_newer(
            "2026-11-25T12:00:00-04:00",
            "2026-11-25T15:00:00.999999"
        ));
        assert!(is_newer(
            "2026-11-25T15:00:00.000001",
            "2026-11-25T15:00:00+00:00"
        ));
        // One instant, two spellings: a fixed order by the string, never equal.
        assert_eq!(
            compare_sk("2026-11-25T15:00:00Z", "2026-11-25T15:00:00+00:00"),
            Ordering::Greater
        );
        assert_eq!(compare_sk("x", "x"), Ordering::Equal);
        assert!(is_newer("2020-01-01T00:00:00Z", "not a time"));
        assert_eq!(
            wall_clock("2026-11-25T11:13:25.5-04:00")
                .unwrap()
                .to_string(),
            "2026-11-25 11:13:25"
        );
    }

    #[test]
    fn message_round_trip() {
        let m = Message {
            message_group_uuid: "g".into(),
            created_at: "2026-01-01T00:00:00.000000+00:00".into(),
            message_uuid: "m".into(),
            message: "hi".into(),
            user_uuid: "u".into(),
            user_display_name: "U".into(),
            user_handle: "uu".into(),
        };
        let item = m.to_item();
        assert_eq!(get_s(&item, "pk"), Some("MSG#g"));
        assert_eq!(Message::from_item(&item).unwrap(), m);
        assert!(MessageGroup::from_item(&item).is_err());
    }

    #[test]
    fn pair_rows_describe_the_other_participant() {
        let a = User {
            uuid: "a".into(),
            handle: "alice".into(),
            display_name: "Alice".into(),
        };
        let b = User {
            uuid: "b".into(),
            handle: "bob".into(),
            display_name: "Bob".into(),
        };
        let [ra, rb] = MessageGroup::pair("g", &a, &b, "t", "last");
        assert_eq!(get_s(&ra.to_item(), "pk"), Some("GRP#a"));
        assert_eq!(ra.other, b);
        assert_eq!(rb.other, a);
        assert_eq!(MessageGroup::from_item(&rb.to_item()).unwrap(), rb);
    }
}
