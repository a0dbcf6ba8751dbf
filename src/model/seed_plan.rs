//! From a validated fixture to the exact items `ddb seed` writes: timestamps placed relative
//! to "now", stable message uuids, both GRP# rows per conversation. Checks what only shows
//! once items exist (timestamp collisions, DynamoDB's 400 KB item limit), so that every
//! error is found before the first write.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use crate::model::fixture::Fixture;
use crate::model::ids::{hash, stable_uuid};
use crate::model::invalid::Invalid;
use crate::model::item::{get_s, item_size, Item, MAX_ITEM_BYTES};
use crate::model::{normalize_timestamp, timestamp, Message, MessageGroup};

/// One conversation as written: its messages and its two GRP# rows.
#[derive(Clone, Debug)]
pub struct PlannedConversation {
    pub message_group_uuid: String,
    pub messages: Vec<Message>,
    pub rows: [MessageGroup; 2],
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub conversations: Vec<PlannedConversation>,
}

/// The attribute every message a seed writes carries (BOOL true). Reseeding removes only
/// messages a seed wrote, never the app's or put-message's.
pub const SEEDED: &str = "seeded";

/// A message as seed writes it: its item and the `SEEDED` marker.
pub fn seeded_item(message: &Message) -> Item {
    let mut item = message.to_item();
    item.insert(SEEDED.into(), AttributeValue::Bool(true));
    item
}

/// A message item a seed wrote: it carries the `SEEDED` marker, or (seeds before the marker)
/// a message_uuid of ddb's stable ids, which are RFC 9562 version 8; the app and put-message
/// write random version 4 uuids.
pub fn written_by_a_seed(item: &Item) -> bool {
    if item.get(SEEDED) == Some(&AttributeValue::Bool(true)) {
        return true;
    }
    get_s(item, "message_uuid")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .is_some_and(|id| id.get_version_num() == 8)
}

/// Of a conversation's messages as stored (`written_by_a_seed` needs message_uuid and the
/// marker), the keys a reseed removes: those a seed wrote at a time this seed does not write
/// (`writes`: the sort keys it writes). Returns them, and how many messages others wrote are
/// kept.
pub fn left_by_an_earlier_seed(stored: &[Item], writes: &HashSet<String>) -> (Vec<Item>, u64) {
    let mut stale = Vec::new();
    let mut others = 0;
    for item in stored {
        if get_s(item, "sk").is_some_and(|sk| writes.contains(sk)) {
            continue;
        }
        if written_by_a_seed(item) {
            let key = ["pk", "sk"]
                .iter()
                .filter_map(|k| Some((k.to_string(), item.get(*k)?.clone())))
                .collect();
            stale.push(key);
        } else {
            others += 1;
        }
    }
    (stale, others)
}

/// One conversation as seed writes it, for the pipeline that writes it, removes what an
/// earlier seed left and settles its rows (transfer::seeding).
#[derive(Clone, Debug)]
pub struct SeedConversation {
    pub group: String,
    /// Its message items, with the `SEEDED` marker.
    pub messages: Vec<Item>,
    /// Its two GRP# rows as they should be.
    pub template: Vec<Item>,
}

impl PlannedConversation {
    pub fn to_seed(&self) -> SeedConversation {
        SeedConversation {
            group: self.message_group_uuid.clone(),
            messages: self.messages.iter().map(seeded_item).collect(),
            template: self.rows.iter().map(MessageGroup::to_item).collect(),
        }
    }
}

impl Plan {
    pub fn message_count(&self) -> usize {
        self.conversations.iter().map(|c| c.messages.len()).sum()
    }

    pub fn item_count(&self) -> usize {
        self.message_count() + 2 * self.conversations.len()
    }

    /// Each conversation as seed writes it.
    pub fn seed_conversations(&self) -> impl Iterator<Item = SeedConversation> + '_ {
        self.conversations.iter().map(PlannedConversation::to_seed)
    }

    /// Messages, then GRP# rows, per conversation.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.seed_conversations()
            .flat_map(|c| c.messages.into_iter().chain(c.template))
    }
}

/// When message `mi` of a conversation of `len` messages is placed, counting back from the
/// conversation's end: a minute or so apart, with a few seconds and microseconds of jitter.
fn offset_from_end(group: &str, mi: usize, len: usize) -> Duration {
    (mi + 1..len)
        .map(|k| {
            let h = hash(&[group.as_bytes(), &(k as u64).to_le_bytes()], 7);
            Duration::seconds(40 + (h % 50) as i64)
                + Duration::microseconds(((h >> 8) % 1_000_000) as i64)
        })
        .fold(Duration::zero(), |a, b| a + b)
}

/// Conversation `ci` ends a few minutes before `now`, later conversations a little earlier, so
/// every conversation looks recent and the list has a stable order.
fn conversation_end(now: DateTime<Utc>, ci: usize) -> DateTime<Utc> {
    now - Duration::minutes(1 + 7 * ci as i64)
}

/// Build the items of a fixture already checked by `Fixture::validate`. Errors name the JSON
/// path of the value at fault.
pub fn plan(fixture: &Fixture, now: DateTime<Utc>) -> Result<Plan, Invalid> {
    let mut conversations = Vec::with_capacity(fixture.conversations.len());
    let mut message_uuids: HashSet<String> = HashSet::new();
    let mut grp_keys: HashMap<(String, String), usize> = HashMap::new();
    for (ci, c) in fixture.conversations.iter().enumerate() {
        let at = format!("conversations[{ci}]");
        let end = conversation_end(now, ci);
        let len = c.messages.len();
        let mut times: HashMap<String, usize> = HashMap::new();
        let mut messages = Vec::with_capacity(len);
        for (mi, m) in c.messages.iter().enumerate() {
            let at = format!("{at}.messages[{mi}]");
            let created_at = match &m.created_at {
                Some(t) => normalize_timestamp(t)
                    .map_err(|e| Invalid::new(format!("{at}.created_at"), format!("{e:#}")))?,
                None => timestamp(end - offset_from_end(&c.message_group_uuid, mi, len)),
            };
            if let Some(other) = times.insert(created_at.clone(), mi) {
                return Err(Invalid::new(
                    format!("{at}.created_at"),
                    format!(
                        "{created_at} is also the time of messages[{other}]; \
                         timestamps must be unique within a conversation"
                    ),
                ));
            }
            let message_uuid = match &m.message_uuid {
                Some(id) => id.clone(),
                None => stable_uuid("fixture-message", &c.message_group_uuid, mi as u64),
            };
            if !message_uuids.insert(message_uuid.clone()) {
                return Err(Invalid::new(
                    format!("{at}.message_uuid"),
                    format!("duplicate uuid '{message_uuid}'"),
                ));
            }
            let user = fixture.user(&m.handle).ok_or_else(|| {
                Invalid::new(
                    format!("{at}.handle"),
                    format!("unknown handle '{}'", m.handle),
                )
            })?;
            let message = Message {
                message_group_uuid: c.message_group_uuid.clone(),
                created_at,
                message_uuid,
                message: m.message.clone(),
                user_uuid: user.uuid.clone(),
                user_display_name: user.display_name.clone(),
                user_handle: user.handle.clone(),
            };
            check_size(&seeded_item(&message), &format!("{at}.message"), "message")?;
            messages.push(message);
        }
        let last = messages
            .iter()
            .max_by(|a, b| a.created_at.cmp(&b.created_at))
            .ok_or_else(|| {
                Invalid::new(
                    format!("{at}.messages"),
                    "a conversation needs at least one message",
                )
            })?;
        let user = |p: &str| {
            fixture.user(p).map(|u| u.to_user()).ok_or_else(|| {
                Invalid::new(
                    format!("{at}.participants"),
                    format!("unknown handle '{p}'"),
                )
            })
        };
        let rows = MessageGroup::pair(
            &c.message_group_uuid,
            &user(&c.participants[0])?,
            &user(&c.participants[1])?,
            &last.created_at,
            &last.message,
        );
        for row in &rows {
            check_size(
                &row.to_item(),
                &format!("{at}.messages"),
                "GRP# row carrying the last message",
            )?;
            let key = (row.owner_uuid.clone(), row.last_message_at.clone());
            if let Some(other) = grp_keys.insert(key, ci) {
                return Err(Invalid::new(
                    at,
                    format!(
                        "its last message ({}) is at the same time as the last message of \
                         conversations[{other}], which shares participant '{}'; a user's GRP# \
                         rows need distinct times",
                        row.last_message_at, row.owner_uuid
                    ),
                ));
            }
        }
        conversations.push(PlannedConversation {
            message_group_uuid: c.message_group_uuid.clone(),
            messages,
            rows,
        });
    }
    Ok(Plan { conversations })
}

fn check_size(item: &Item, at: &str, what: &str) -> Result<(), Invalid> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(Invalid::new(
            at,
            format!(
                "the {what} item would be {size} bytes, over DynamoDB's 400 KB ({MAX_ITEM_BYTES} bytes) item limit"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fixture(extra: &str) -> Fixture {
        let text = format!(
            r#"{{"users":[
            {{"uuid":"00000000-0000-0000-0000-00000000000a","handle":"a","display_name":"A"}},
            {{"uuid":"00000000-0000-0000-0000-00000000000b","handle":"b","display_name":"B"}},
            {{"uuid":"00000000-0000-0000-0000-00000000000c","handle":"c","display_name":"C"}}],
          "conversations":[{{"message_group_uuid":"00000000-0000-0000-0000-0000000000aa",
            "participants":["a","b"],"messages":[{{"handle":"a","message":"one"}},
              {{"handle":"b","message":"two"}},{{"handle":"a","message":"three"}}{extra}]}},
            {{"message_group_uuid":"00000000-0000-0000-0000-0000000000bb",
            "participants":["a","c"],"messages":[{{"handle":"c","message":"hey"}}]}}]}}"#
        );
        let f: Fixture = serde_json::from_str(&text).unwrap();
        f.validate().unwrap();
        f
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap()
    }

    #[test]
    fn times_increase_end_before_now_and_rows_carry_the_last_message() {
        let p = plan(&fixture(""), now()).unwrap();
        assert_eq!(p.item_count(), 4 + 4);
        let c = &p.conversations[0];
        let times: Vec<&str> = c.messages.iter().map(|m| m.created_at.as_str()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        assert!(times[2] < timestamp(now()).as_str());
        assert!(times[0] > timestamp(now() - Duration::hours(1)).as_str());
        assert_eq!(c.rows[0].message, "three");
        assert_eq!(c.rows[0].last_message_at, times[2]);
        assert_eq!(c.rows[0].owner_uuid, "00000000-0000-0000-0000-00000000000a");
        assert_eq!(c.rows[0].other.handle, "b");
        // Stable: same now, same items; the uuids do not depend on now.
        let again = plan(&fixture(""), now()).unwrap();
        assert_eq!(
            again.items().collect::<Vec<_>>(),
            p.items().collect::<Vec<_>>()
        );
        let later = plan(&fixture(""), now() + Duration::days(1)).unwrap();
        assert_eq!(
            later.conversations[0].messages[1].message_uuid,
            c.messages[1].message_uuid
        );
    }

    #[test]
    fn explicit_time_wins_and_can_be_the_last_message() {
        let p = plan(
            &fixture(r#",{"handle":"b","message":"old","created_at":"2020-01-01T00:00:00Z"}"#),
            now(),
        )
        .unwrap();
        let c = &p.conversations[0];
        assert_eq!(c.messages[3].created_at, "2020-01-01T00:00:00.000000+00:00");
        assert_eq!(
            c.rows[1].message, "three",
            "the true last message, not the last listed"
        );
    }

    #[test]
    fn messages_a_seed_wrote_are_recognised_and_no_others() {
        let p = plan(&fixture(""), now()).unwrap();
        let items: Vec<Item> = p.items().collect();
        let messages: Vec<&Item> = items
            .iter()
            .filter(|i| get_s(i, "pk").is_some_and(|pk| pk.starts_with("MSG#")))
            .collect();
        assert_eq!(messages.len(), 4);
        assert!(messages.iter().all(|m| written_by_a_seed(m)));
        // A seed before the marker: recognised by its stable (version 8) uuid.
        let mut legacy = p.conversations[0].messages[0].to_item();
        assert!(!legacy.contains_key(SEEDED));
        assert!(written_by_a_seed(&legacy));
        // The app's and put-message's messages: random version 4 uuids, no marker.
        legacy.insert(
            "message_uuid".into(),
            AttributeValue::S("6f1c2c8e-3b1a-4d2e-9f00-0123456789ab".into()),
        );
        assert!(!written_by_a_seed(&legacy));
        legacy.insert(SEEDED.into(), AttributeValue::Bool(false));
        assert!(!written_by_a_seed(&legacy));
        // Of what is stored, a reseed removes what a seed wrote at another time, and keeps
        // (counts) the others' messages.
        let mut earlier = p.conversations[0].messages[1].clone();
        earlier.created_at = "2020-01-01T00:00:00.000000+00:00".into();
        legacy.insert(
            "sk".into(),
            AttributeValue::S("2026-03-04T11:59:00Z".into()),
        );
        let stored = [
            seeded_item(&p.conversations[0].messages[0]),
            seeded_item(&earlier),
            legacy.clone(),
        ];
        let writes: HashSet<String> = [p.conversations[0].messages[0].created_at.clone()].into();
        let (stale, others) = left_by_an_earlier_seed(&stored, &writes);
        assert_eq!(others, 1);
        assert_eq!(stale.len(), 1);
        assert_eq!(
            get_s(&stale[0], "sk"),
            Some("2020-01-01T00:00:00.000000+00:00")
        );
        assert_eq!(stale[0].len(), 2, "keys only");
    }

    #[test]
    fn collisions_and_oversized_items_name_the_path() {
        let t = r#"{"handle":"b","message":"x","created_at":"2020-01-01T00:00:00Z"}"#;
        let err = plan(&fixture(&format!(",{t},{t}")), now()).unwrap_err();
        assert_eq!(err.at, "conversations[0].messages[4].created_at");
        assert!(
            err.problem.contains("also the time of messages[3]"),
            "{err}"
        );
        let big = "x".repeat(MAX_ITEM_BYTES);
        let err = plan(
            &fixture(&format!(r#",{{"handle":"b","message":"{big}"}}"#)),
            now(),
        )
        .unwrap_err();
        assert_eq!(err.at, "conversations[0].messages[3].message");
        assert!(err.problem.contains("400 KB"), "{err}");
    }
}
