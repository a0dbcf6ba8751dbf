//! Deterministic synthetic data for load and benchmark work: users, conversations between
//! pairs of them, N messages spread over the conversations, and both GRP# rows per
//! conversation. Every value is a pure function of the spec and an index, so items come out
//! as a stream (memory flat in N) and the same spec gives the same items on every run.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::model::ids::{hash, stable_uuid};
use crate::model::invalid::Invalid;
use crate::model::item::Item;
use crate::model::seed_plan::{seeded_item, SeedConversation};
use crate::model::{timestamp, Message, MessageGroup, User};

/// Timestamps end here unless `--now` is given, so two runs with the same arguments write the
/// same keys.
pub fn default_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Time between consecutive messages (each gets a jittered offset inside its own slot, so
/// timestamps are unique and increasing across the whole data set).
const SLOT_MICROS: i64 = 2_000_000;

const FIRST: [&str; 16] = [
    "Ada", "Bao", "Chidi", "Dana", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lena",
    "Mateo", "Nia", "Oskar", "Priya",
];
const LAST: [&str; 16] = [
    "Abara", "Berg", "Costa", "Dube", "Eriksen", "Fujita", "Garcia", "Haddad", "Ilves", "Jensen",
    "Kowalski", "Lindahl", "Moreau", "Novak", "Okoro", "Petrov",
];
const WORDS: [&str; 32] = [
    "ship", "the", "table", "stream", "deploy", "coffee", "later", "today", "sure", "thanks",
    "why", "not", "latency", "index", "query", "cache", "review", "merge", "lunch", "meeting",
    "tomorrow", "bug", "fixed", "again", "great", "idea", "maybe", "tests", "green", "red",
    "dynamo", "ok",
];

#[derive(Clone, Debug)]
pub struct Spec {
    pub messages: u64,
    pub groups: u64,
    pub users: u64,
    pub seed: u64,
    /// The last message's time.
    pub end: DateTime<Utc>,
}

impl Spec {
    /// The defaults `ddb seed --synthetic N` uses: a conversation per 100 messages (at least
    /// one, at most 1,000) among 50 users.
    pub fn new(messages: u64, groups: Option<u64>, users: Option<u64>, seed: u64) -> Spec {
        Spec {
            messages,
            groups: groups.unwrap_or((messages / 100).clamp(1, 1000)),
            users: users.unwrap_or(50),
            seed,
            end: default_end(),
        }
    }

    /// Sizes that cannot produce a valid data set; the message names the option.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.messages == 0 {
            return Err(Invalid::new("--synthetic", "need at least one message"));
        }
        if self.groups == 0 || self.groups > self.messages {
            return Err(Invalid::new(
                "--groups",
                format!(
                    "{} conversations for {} messages; every conversation needs a message (1..={})",
                    self.groups, self.messages, self.messages
                ),
            ));
        }
        if self.users < 2 {
            return Err(Invalid::new(
                "--users",
                "a conversation needs two users (at least 2)",
            ));
        }
        let span = self.messages.saturating_mul(SLOT_MICROS as u64);
        if span > 100 * 365 * 86_400 * 1_000_000 {
            return Err(Invalid::new(
                "--synthetic",
                "too many messages to place in time",
            ));
        }
        Ok(())
    }

    /// Items in the data set: every message and two GRP# rows per conversation.
    pub fn total_items(&self) -> u64 {
        self.messages + 2 * self.groups
    }

    fn h(&self, what: &str, n: u64) -> u64 {
        hash(&[what.as_bytes(), &n.to_le_bytes()], self.seed)
    }

    pub fn user(&self, i: u64) -> User {
        let h = self.h("user", i);
        User {
            uuid: stable_uuid("synthetic-user", &self.seed.to_string(), i),
            handle: format!("user{i:05}"),
            display_name: format!(
                "{} {}",
                FIRST[(h % 16) as usize],
                LAST[((h >> 8) % 16) as usize]
            ),
        }
    }

    /// Conversation `g`'s uuid, from the generator's seed and its number of users: a run with
    /// other `--users` pairs other users, so it writes other conversations (never a third
    /// participant into one).
    pub fn group_uuid(&self, g: u64) -> String {
        let key = format!("{}/{}", self.seed, self.users);
        stable_uuid("synthetic-group", &key, g)
    }

    /// The two participants of conversation `g`, always different users.
    pub fn pair(&self, g: u64) -> (u64, u64) {
        let h = self.h("pair", g);
        let a = h % self.users;
        let b = (a + 1 + (h >> 32) % (self.users - 1)) % self.users;
        (a, b)
    }

    /// Message `i` goes to conversation `i % groups`; its time grows with `i`.
    pub fn message(&self, i: u64) -> Message {
        let g = i % self.groups;
        let (a, b) = self.pair(g);
        let h = self.h("message", i);
        let sender = self.user(if h & 1 == 0 { a } else { b });
        let slot = (self.messages - 1 - i) as i64 * SLOT_MICROS;
        let jitter = ((h >> 1) % SLOT_MICROS as u64) as i64;
        let at = self.end - Duration::microseconds(slot) - Duration::microseconds(jitter);
        Message {
            message_group_uuid: self.group_uuid(g),
            created_at: timestamp(at),
            message_uuid: stable_uuid("synthetic-message", &self.seed.to_string(), i),
            message: text(h >> 24),
            user_uuid: sender.uuid,
            user_display_name: sender.display_name,
            user_handle: sender.handle,
        }
    }

    /// The index of conversation `g`'s last (newest) message.
    pub fn last_index(&self, g: u64) -> u64 {
        let count = self.messages / self.groups + u64::from(g < self.messages % self.groups);
        g + (count - 1) * self.groups
    }

    /// Both GRP# rows of conversation `g`, carrying its true last message.
    pub fn group_rows(&self, g: u64) -> [MessageGroup; 2] {
        let (a, b) = self.pair(g);
        let last = self.message(self.last_index(g));
        MessageGroup::pair(
            &last.message_group_uuid,
            &self.user(a),
            &self.user(b),
            &last.created_at,
            &last.message,
        )
    }

    /// Messages of conversation `g`: indexes g, g + groups, g + 2 * groups, ...
    fn indexes_of(&self, g: u64) -> impl Iterator<Item = u64> {
        (g..self.messages).step_by(usize::try_from(self.groups).unwrap_or(usize::MAX))
    }

    /// Conversation `g` as seed writes it: its messages (with the seed marker) and its two
    /// rows as they should be.
    pub fn conversation(&self, g: u64) -> SeedConversation {
        SeedConversation {
            group: self.group_uuid(g),
            messages: self
                .indexes_of(g)
                .map(|i| seeded_item(&self.message(i)))
                .collect(),
            template: self.group_rows(g).map(|r| r.to_item()).to_vec(),
        }
    }

    /// Every conversation, generated as it is pulled (memory flat in the number of them).
    pub fn conversations(&self) -> impl Iterator<Item = SeedConversation> + '_ {
        (0..self.groups).map(|g| self.conversation(g))
    }

    /// Every item, generated as it is pulled: each conversation's messages, then its rows.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.conversations()
            .flat_map(|c| c.messages.into_iter().chain(c.template))
    }
}

/// A short message of 3 to 24 words picked from `h`.
fn text(mut h: u64) -> String {
    let words = 3 + (h % 22) as usize;
    let mut out = String::new();
    for n in 0..words {
        if n % 8 == 7 {
            h = crate::model::ids::mix(h);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(WORDS[(h % 32) as usize]);
        h >>= 5;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    use crate::model::item::get_s;

    #[test]
    fn counts_uniqueness_and_true_last_messages() {
        let spec = Spec::new(1003, Some(10), Some(7), 42);
        spec.validate().unwrap();
        let items: Vec<Item> = spec.items().collect();
        assert_eq!(items.len() as u64, spec.total_items());
        let keys: HashSet<(String, String)> = items
            .iter()
            .map(|i| {
                (
                    get_s(i, "pk").unwrap().into(),
                    get_s(i, "sk").unwrap().into(),
                )
            })
            .collect();
        assert_eq!(keys.len(), items.len(), "keys are unique");
        // The newest message per group, found the slow way, is what the GRP rows carry.
        let mut newest: HashMap<String, (String, String)> = HashMap::new();
        for m in (0..spec.messages).map(|i| spec.message(i)) {
            let e = newest.entry(m.message_group_uuid.clone()).or_default();
            if m.created_at > e.0 {
                *e = (m.created_at, m.message);
            }
        }
        assert_eq!(newest.len(), 10);
        for g in 0..spec.groups {
            let rows = spec.group_rows(g);
            let (at, text) = &newest[&spec.group_uuid(g)];
            for r in &rows {
                assert_eq!(&r.last_message_at, at);
                assert_eq!(&r.message, text);
            }
            assert_ne!(rows[0].owner_uuid, rows[1].owner_uuid);
            assert_eq!(rows[0].other.uuid, rows[1].owner_uuid);
        }
    }

    #[test]
    fn same_spec_same_items() {
        let a: Vec<Item> = Spec::new(300, Some(7), None, 1).items().collect();
        let b: Vec<Item> = Spec::new(300, Some(7), None, 1).items().collect();
        let c: Vec<Item> = Spec::new(300, Some(7), None, 2).items().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn bad_sizes_are_rejected() {
        assert!(Spec::new(0, None, None, 1).validate().is_err());
        assert!(Spec::new(5, Some(6), None, 1).validate().is_err());
        assert!(Spec::new(5, Some(2), Some(1), 1).validate().is_err());
        assert!(Spec::new(5, Some(5), Some(2), 1).validate().is_ok());
    }
}
