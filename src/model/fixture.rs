//! The seed fixture: users and conversations as a hand-editable JSON file
//! (format in docs/commands.md, under seed). Loading checks everything before anything is written.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::errors::Failure;
use crate::model::invalid::Invalid;
use crate::model::jsonfile;
use crate::model::{normalize_timestamp, User};

/// The fixture compiled into the binary (fixtures/seed.json at build time): what seed writes
/// and what `--handle` resolves against when no `--fixture`/`$DDB_FIXTURE` is given.
pub const BUILTIN: &str = include_str!("../../fixtures/seed.json");
/// How the built-in fixture is named in messages.
pub const BUILTIN_NAME: &str = "the built-in fixture";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub users: Vec<FixtureUser>,
    pub conversations: Vec<Conversation>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureUser {
    pub uuid: String,
    pub handle: String,
    pub display_name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub message_group_uuid: String,
    pub participants: Vec<String>,
    pub messages: Vec<FixtureMessage>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureMessage {
    pub handle: String,
    pub message: String,
    /// Optional fixed time; otherwise seed places messages relative to `--now`.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Optional fixed id; otherwise seed derives a stable one from the group and position.
    #[serde(default)]
    pub message_uuid: Option<String>,
}

impl FixtureUser {
    pub fn to_user(&self) -> User {
        User {
            uuid: self.uuid.clone(),
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

/// The fixture file to read: `--fixture` when given, else `$DDB_FIXTURE` (when set and not
/// empty), else none: the built-in fixture.
pub fn chosen_path(arg: Option<PathBuf>) -> Option<PathBuf> {
    arg.or_else(|| {
        std::env::var_os("DDB_FIXTURE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// The fixture from `path`, or the built-in one; with the name to use in messages.
pub fn load_or_builtin(path: Option<&Path>) -> Result<(Fixture, String)> {
    match path {
        Some(p) => Ok((load(p)?, p.display().to_string())),
        None => {
            let name = Path::new(BUILTIN_NAME);
            let fixture: Fixture = jsonfile::parse(name, BUILTIN)?;
            fixture
                .validate()
                .map_err(|msg| Failure::InvalidInput(format!("{BUILTIN_NAME}: {msg}")))?;
            Ok((fixture, BUILTIN_NAME.to_string()))
        }
    }
}

/// The users of the chosen fixture (`--fixture`, `$DDB_FIXTURE` or the built-in one).
pub fn load_chosen(arg: Option<PathBuf>) -> Result<(Fixture, String)> {
    load_or_builtin(chosen_path(arg).as_deref())
}

/// Read and parse a fixture. Syntax errors name the file, line and column; semantic errors name
/// the file and the JSON path of the bad value.
pub fn load(path: &Path) -> Result<Fixture> {
    let fixture: Fixture = jsonfile::read(path, "fixture")?;
    fixture
        .validate()
        .map_err(|msg| Failure::InvalidInput(format!("{}: {msg}", path.display())))?;
    Ok(fixture)
}

impl Fixture {
    /// Every rule a fixture must satisfy; the message names the JSON path.
    pub fn validate(&self) -> std::result::Result<(), Invalid> {
        let mut handles: HashMap<&str, usize> = HashMap::new();
        let mut uuids: HashSet<&str> = HashSet::new();
        if self.users.is_empty() {
            return Err(Invalid::new("users", "the list is empty"));
        }
        for (i, u) in self.users.iter().enumerate() {
            let at = format!("users[{i}]");
            non_empty(&u.uuid, &at, "uuid")?;
            non_empty(&u.handle, &at, "handle")?;
            non_empty(&u.display_name, &at, "display_name")?;
            check_uuid(&u.uuid, &format!("{at}.uuid"))?;
            if handles.insert(&u.handle, i).is_some() {
                return Err(Invalid::new(
                    format!("{at}.handle"),
                    format!("duplicate handle '{}'", u.handle),
                ));
            }
            if !uuids.insert(&u.uuid) {
                return Err(Invalid::new(
                    format!("{at}.uuid"),
                    format!("duplicate uuid '{}'", u.uuid),
                ));
            }
        }
        let known = || {
            let mut h: Vec<&str> = self.users.iter().map(|u| u.handle.as_str()).collect();
            h.sort_unstable();
            h.join(", ")
        };
        let mut groups: HashSet<&str> = HashSet::new();
        let mut message_uuids: HashSet<&str> = HashSet::new();
        for (ci, c) in self.conversations.iter().enumerate() {
            let at = format!("conversations[{ci}]");
            non_empty(&c.message_group_uuid, &at, "message_group_uuid")?;
            check_uuid(&c.message_group_uuid, &format!("{at}.message_group_uuid"))?;
            if !groups.insert(&c.message_group_uuid)
                || uuids.contains(c.message_group_uuid.as_str())
            {
                return Err(Invalid::new(
                    format!("{at}.message_group_uuid"),
                    format!("duplicate uuid '{}'", c.message_group_uuid),
                ));
            }
            if c.participants.len() != 2 || c.participants[0] == c.participants[1] {
                return Err(Invalid::new(
                    format!("{at}.participants"),
                    "expected two different handles",
                ));
            }
            for (pi, p) in c.participants.iter().enumerate() {
                if !handles.contains_key(p.as_str()) {
                    return Err(Invalid::new(
                        format!("{at}.participants[{pi}]"),
                        format!("unknown handle '{p}' (known: {})", known()),
                    ));
                }
            }
            if c.messages.is_empty() {
                return Err(Invalid::new(
                    format!("{at}.messages"),
                    "a conversation needs at least one message",
                ));
            }
            for (mi, m) in c.messages.iter().enumerate() {
                let at = format!("{at}.messages[{mi}]");
                if !c.participants.contains(&m.handle) {
                    let problem = if handles.contains_key(m.handle.as_str()) {
                        format!(
                            "'{}' is not a participant ({} and {})",
                            m.handle, c.participants[0], c.participants[1]
                        )
                    } else {
                        format!("unknown handle '{}' (known: {})", m.handle, known())
                    };
                    return Err(Invalid::new(format!("{at}.handle"), problem));
                }
                if m.message.trim().is_empty() {
                    return Err(Invalid::new(format!("{at}.message"), "empty message"));
                }
                if let Some(t) = &m.created_at {
                    normalize_timestamp(t)
                        .map_err(|e| Invalid::new(format!("{at}.created_at"), format!("{e:#}")))?;
                }
                if let Some(id) = &m.message_uuid {
                    check_uuid(id, &format!("{at}.message_uuid"))?;
                    if !message_uuids.insert(id) {
                        return Err(Invalid::new(
                            format!("{at}.message_uuid"),
                            format!("duplicate uuid '{id}'"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn user(&self, handle: &str) -> Option<&FixtureUser> {
        self.users.iter().find(|u| u.handle == handle)
    }
}

fn non_empty(value: &str, at: &str, field: &str) -> std::result::Result<(), Invalid> {
    if value.trim().is_empty() {
        Err(Invalid::new(format!("{at}.{field}"), "empty"))
    } else {
        Ok(())
    }
}

/// A uuid in the 8-4-4-4-12 hex form; ids end up inside keys, so be strict.
pub fn check_uuid(value: &str, at: &str) -> std::result::Result<(), Invalid> {
    if is_uuid(value) {
        Ok(())
    } else {
        Err(Invalid::new(
            at,
            format!("'{value}' is not a uuid (8-4-4-4-12 hex digits)"),
        ))
    }
}

pub fn is_uuid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Look a handle up in the fixture's users (`name` says which fixture); an unknown handle
/// lists the known ones.
pub fn resolve_handle(fixture: &Fixture, name: &str, handle: &str) -> Result<User> {
    let handle = handle.trim_start_matches('@');
    match fixture.user(handle) {
        Some(u) => Ok(u.to_user()),
        None => {
            let mut known: Vec<&str> = fixture.users.iter().map(|u| u.handle.as_str()).collect();
            known.sort_unstable();
            Err(Failure::InvalidInput(format!(
                "unknown handle '{handle}' in {name} (known: {})",
                known.join(", ")
            ))
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Fixture {
        serde_json::from_str(s).unwrap()
    }

    const OK: &str = r#"{"users":[
        {"uuid":"00000000-0000-0000-0000-00000000000a","handle":"a","display_name":"A"},
        {"uuid":"00000000-0000-0000-0000-00000000000b","handle":"b","display_name":"B"}],
      "conversations":[{"message_group_uuid":"00000000-0000-0000-0000-0000000000aa",
        "participants":["a","b"],"messages":[{"handle":"a","message":"hi"}]}]}"#;

    #[test]
    fn valid_fixture_passes() {
        parse(OK).validate().unwrap();
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            (OK.replace(r#""handle":"a","message""#, r#""handle":"zed","message""#),
             "conversations[0].messages[0].handle: unknown handle 'zed' (known: a, b)"),
            (OK.replace(r#""message":"hi""#, r#""message":"  ""#),
             "conversations[0].messages[0].message: empty message"),
            (OK.replace("0000000000aa", "00000000000a"),
             "conversations[0].message_group_uuid: duplicate uuid '00000000-0000-0000-0000-00000000000a'"),
            (OK.replace(r#""message":"hi""#, r#""message":"hi","created_at":"soon""#),
             "conversations[0].messages[0].created_at: 'soon' is not an RFC 3339 timestamp"),
            (OK.replace("-00000000000b\"", "-00000000000a\""),
             "users[1].uuid: duplicate uuid"),
        ];
        for (text, want) in cases {
            let err = parse(&text).validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn builtin_fixture_is_valid_and_is_the_shipped_file() {
        let (fixture, name) = load_or_builtin(None).unwrap();
        assert_eq!(name, BUILTIN_NAME);
        assert!(fixture.user("andrewbrown").is_some());
        let on_disk =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seed.json"))
                .unwrap();
        assert_eq!(BUILTIN, on_disk);
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("5ae290ed-55d1-47a0-bc6d-fe2bc2700399"));
        assert!(!is_uuid("5ae290ed55d147a0bc6dfe2bc2700399"));
        assert!(!is_uuid("5ae290ed-55d1-47a0-bc6d-fe2bc270039g"));
    }
}
