//! Builders for the table's own items, written by hand after the single-table design (the
//! brief's "message" and "group row"), never through ddb's code: messages (`MSG#<group>`),
//! GRP# rows, and numbered conversations between two users.
//!
//! Every attribute is a string, as the app writes them. Where tests wrote slightly different
//! items by hand (the text a row shows, the names it gives, a message's uuid), the difference
//! is a parameter, so each test still writes exactly what it wrote before.

use super::{item, Item};

/// The sort-key form of test timestamps: 2026-01-01 plus `second` seconds, RFC 3339 with
/// microseconds and `+00:00`.
pub fn ts(second: u32) -> String {
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.000000+00:00",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

/// `00000000-0000-4000-8000-<n, 12 digits>`: a v4-shaped uuid numbered for a test.
pub fn numbered_uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A user as items name them: uuid, display name, handle.
#[derive(Clone, Copy, Debug)]
pub struct Person<'a> {
    pub uuid: &'a str,
    pub name: &'a str,
    pub handle: &'a str,
}

impl Person<'_> {
    /// The three attributes an item names a user by.
    fn attributes(&self) -> [(&'static str, &str); 3] {
        [
            ("user_uuid", self.uuid),
            ("user_display_name", self.name),
            ("user_handle", self.handle),
        ]
    }
}

/// A message item: `pk = MSG#<group>`, `sk = created_at`, sent by `from`.
pub fn message(group: &str, sk: &str, message_uuid: &str, text: &str, from: Person) -> Item {
    let pk = format!("MSG#{group}");
    let keys = [("pk", pk.as_str()), ("sk", sk)];
    let body = [("message_uuid", message_uuid), ("message", text)];
    item(&[&keys[..], &body, &from.attributes()].concat())
}

/// The GRP# row of `owner` in conversation `group`: `sk = last_message_at`, the last message's
/// text, and the OTHER participant's uuid, display name and handle.
pub fn group_row(owner: &str, group: &str, sk: &str, text: &str, other: Person) -> Item {
    let pk = format!("GRP#{owner}");
    let keys = [("pk", pk.as_str()), ("sk", sk)];
    let body = [("message_group_uuid", group), ("message", text)];
    item(&[&keys[..], &body, &other.attributes()].concat())
}

/// A row of another conversation (`99999999-0000-4000-8000-000000000000`) that `owner`
/// already has at `sk`, naming user `c`: moving `owner`'s row of a conversation to `sk` would
/// overwrite it, so such a move must fail. `(name, handle)` is what it shows of `c`.
pub fn clashing_row(owner: &str, sk: &str, text: &str, (name, handle): (&str, &str)) -> Item {
    let c = Person {
        uuid: "c",
        name,
        handle,
    };
    group_row(owner, OTHER_GROUP, sk, text, c)
}

/// The conversation of `clashing_row`.
pub const OTHER_GROUP: &str = "99999999-0000-4000-8000-000000000000";

/// How a conversation's two GRP# rows name the other participant: (display name, handle).
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    /// Shown on b's row.
    pub of_a: (&'a str, &'a str),
    /// Shown on a's row.
    pub of_b: (&'a str, &'a str),
}

/// Both rows name the other participant "Someone" (handle someone).
pub const SOMEONE: Names<'static> = Names {
    of_a: ("Someone", "someone"),
    of_b: ("Someone", "someone"),
};

/// Both rows name the other participant by the same display name, handle someone.
pub fn named(name: &str) -> Names<'_> {
    Names {
        of_a: (name, "someone"),
        of_b: (name, "someone"),
    }
}

/// A conversation between two users, `a` and `b`.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub id: String,
    pub a: String,
    pub b: String,
}

impl Conversation {
    /// Conversation `n`: group `00000000-0000-4000-8000-<n>` between users
    /// `aaaaaaaa-0000-4000-8000-<n>` and `bbbbbbbb-0000-4000-8000-<n>`.
    pub fn numbered(n: u32) -> Conversation {
        Conversation {
            id: numbered_uuid(n as usize),
            a: format!("aaaaaaaa-0000-4000-8000-{n:012}"),
            b: format!("bbbbbbbb-0000-4000-8000-{n:012}"),
        }
    }

    /// Both GRP# rows at `sk` showing `text`: a's row first, then b's.
    pub fn rows(&self, sk: &str, text: &str, names: Names) -> Vec<Item> {
        let person = |uuid, (name, handle)| Person { uuid, name, handle };
        vec![
            group_row(&self.a, &self.id, sk, text, person(&self.b, names.of_b)),
            group_row(&self.b, &self.id, sk, text, person(&self.a, names.of_a)),
        ]
    }

    /// The sender of this conversation's messages: a, as "Al" (handle al).
    pub fn al(&self) -> Person<'_> {
        Person {
            uuid: &self.a,
            name: "Al",
            handle: "al",
        }
    }

    /// A message from a at `sk`, its uuid `m-<sk>`.
    pub fn message(&self, sk: &str, text: &str) -> Item {
        message(&self.id, sk, &format!("m-{sk}"), text, self.al())
    }
}

/// `rounds` rounds of one message to each conversation: round r's message to `groups[i]` is
/// "round r" at `ts(r * step + i)`, made by `message` (conversation, sk, text).
pub fn rounds(
    groups: &[Conversation],
    rounds: u32,
    step: u32,
    message: impl Fn(&Conversation, &str, &str) -> Item,
) -> Vec<Item> {
    let mut messages = Vec::new();
    for round in 1..=rounds {
        for (i, g) in groups.iter().enumerate() {
            let sk = ts(round * step + i as u32);
            messages.push(message(g, &sk, &format!("round {round}")));
        }
    }
    messages
}
