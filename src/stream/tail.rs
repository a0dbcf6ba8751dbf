//! `ddb tail`'s decisions, pure: which stream a table has (or the one command that gives it
//! one), which records a run shows (`Filter`), and the line a person reads for each. Reading
//! is the stream reader's (`source::Reader`); Lambda-shaped output is `event_json`'s.

use aws_sdk_dynamodb::types::TableDescription;
use chrono::DateTime;

use crate::aws::db::Db;
use crate::errors::Failure;
use crate::model::changes::{changes, show_change, show_value};
use crate::model::item::Item;
use crate::stream::record::{EventName, StreamRecord};
use crate::term::output::Style;
use crate::term::safe::truncate;

/// `--events`: the kinds of change to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Insert,
    Modify,
    /// Deletions, by a writer or by Time to Live.
    Remove,
}

/// The ARN of the table's stream (any view type: a KEYS_ONLY stream shows keys). A table
/// without one is NotFound (exit 4), naming the one command that enables it.
pub fn stream_arn(db: &Db, t: &TableDescription) -> Result<String, Failure> {
    let enabled = t.stream_specification().is_some_and(|s| s.stream_enabled());
    match (t.latest_stream_arn(), enabled) {
        (Some(arn), true) => Ok(arn.to_string()),
        _ => Err(Failure::NotFound(format!(
            "table '{}' has no stream at {}; enable one with: {}",
            db.table,
            db.target.endpoint_label(),
            enable_command(db)
        ))),
    }
}

/// The AWS CLI command that turns on a NEW_AND_OLD_IMAGES stream (what tail shows best, and
/// what the handler reads too) on the same target.
pub fn enable_command(db: &Db) -> String {
    let t = &db.target;
    let mut words = vec!["aws dynamodb update-table".to_string()];
    if let Some(url) = &t.endpoint {
        words.push(format!(
            "--endpoint-url {}",
            crate::model::checked::redact_url(url)
        ));
    }
    words.push(format!("--region {}", t.region));
    if let Some(p) = &t.profile {
        words.push(format!("--profile {p}"));
    }
    words.push(format!("--table-name {}", db.table));
    words
        .push("--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES".into());
    words.join(" ")
}

/// Which records a run shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Empty: every kind (and names this version does not know).
    pub kinds: Vec<Kind>,
    pub pk_prefix: Option<String>,
    /// Records created before this (seconds since the epoch) are skipped.
    pub not_before: Option<f64>,
}

impl Filter {
    /// Whether `rec` is shown; `partition` is the table's partition key attribute.
    pub fn keeps(&self, rec: &StreamRecord, partition: &str) -> bool {
        if !self.kinds.is_empty() {
            let kind = match rec.event_name {
                EventName::Insert => Some(Kind::Insert),
                EventName::Modify => Some(Kind::Modify),
                EventName::Remove => Some(Kind::Remove),
                EventName::Other(_) if rec.detail.by_ttl => Some(Kind::Remove),
                EventName::Other(_) => None,
            };
            if !kind.is_some_and(|k| self.kinds.contains(&k)) {
                return false;
            }
        }
        if let Some(prefix) = &self.pk_prefix {
            let pk = crate::model::item::get_s(&rec.keys, partition).unwrap_or("");
            if !pk.starts_with(prefix.as_str()) {
                return false;
            }
        }
        // ApproximateCreationDateTime is rounded down to the second: a record of the first
        // second of the window counts as in it.
        match (self.not_before, rec.detail.created) {
            (Some(limit), Some(created)) => created + 1.0 >= limit,
            _ => true,
        }
    }
}

/// One record as a person reads it, on one line: the time (UTC), the event, the keys (the
/// partition key first), then what changed. With old and new images a MODIFY shows each
/// changed attribute as `name: old → new`; otherwise the new image's other attributes. Every
/// piece of table text is terminal-safe; on a terminal the line is cut to its width.
pub fn line(rec: &StreamRecord, key_names: &[String], style: &Style) -> String {
    let time = rec
        .detail
        .created
        .and_then(|t| DateTime::from_timestamp(t.floor() as i64, 0))
        .map_or_else(
            || "--:--:--".to_string(),
            |t| t.format("%H:%M:%S").to_string(),
        );
    let event = match (&rec.event_name, rec.detail.by_ttl) {
        (EventName::Remove | EventName::Other(_), true) => style.red("REMOVE (TTL)"),
        (EventName::Insert, _) => style.green("INSERT"),
        (EventName::Modify, _) => style.yellow("MODIFY"),
        (EventName::Remove, _) => style.red("REMOVE"),
        (EventName::Other(name), _) => truncate(name, 20),
    };
    let keys = key_names
        .iter()
        .filter_map(|k| rec.keys.get(k))
        .map(|v| match v {
            aws_sdk_dynamodb::types::AttributeValue::S(s) => truncate(s, 60),
            other => show_value(other),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let what = what_changed(rec, key_names);
    let mut text = format!("{} {event} {keys}", style.dim(&time));
    if !what.is_empty() {
        text.push_str("  ");
        text.push_str(&what.join(", "));
    }
    match style.columns {
        // Colour codes take no room on screen: cut only lines without them.
        Some(width) if !style.color => truncate(&text, width.max(20)),
        _ => text,
    }
}

/// The attributes a record changed, for people (keys left out: they are shown already).
fn what_changed(rec: &StreamRecord, key_names: &[String]) -> Vec<String> {
    let not_key = |name: &str| !key_names.iter().any(|k| k == name);
    match (&rec.detail.old_image, &rec.new_image) {
        (Some(old), Some(new)) => changes(old, new, key_names)
            .iter()
            .map(show_change)
            .collect(),
        (None, Some(new)) => attributes(new, &not_key),
        _ => Vec::new(),
    }
}

fn attributes(item: &Item, keep: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<&String> = item.keys().filter(|k| keep(k)).collect();
    names.sort();
    names
        .into_iter()
        .map(|k| format!("{}: {}", truncate(k, 60), show_value(&item[k])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::record::parse_event_file;
    use crate::term::output::OutputFormat;

    fn plain() -> Style {
        Style {
            format: OutputFormat::Table,
            color: false,
            stdout_tty: false,
            stderr_tty: false,
            columns: None,
        }
    }

    fn record(text: &str) -> StreamRecord {
        parse_event_file(text).unwrap().remove(0).1
    }

    const MODIFY: &str = r#"{"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "1",
        "ApproximateCreationDateTime": 1767225661,
        "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "t1"}},
        "OldImage": {"pk": {"S": "MSG#g"}, "sk": {"S": "t1"}, "message": {"S": "old"}, "x": {"N": "1"}},
        "NewImage": {"pk": {"S": "MSG#g"}, "sk": {"S": "t1"}, "message": {"S": "new\u001b[2J"}, "y": {"BOOL": true}}}}"#;

    #[test]
    fn a_modify_with_both_images_shows_old_to_new() {
        let keys = ["pk".to_string(), "sk".to_string()];
        assert_eq!(
            line(&record(MODIFY), &keys, &plain()),
            r#"00:01:01 MODIFY MSG#g t1  message: "old" → "new\u001b[2J", - x: 1, + y: true"#
        );
    }

    #[test]
    fn inserts_show_the_new_image_and_ttl_removals_are_marked() {
        let keys = ["pk".to_string(), "sk".to_string()];
        let insert = r#"{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "2",
            "Keys": {"pk": {"S": "GRP#u"}, "sk": {"S": "t\n2"}},
            "NewImage": {"pk": {"S": "GRP#u"}, "sk": {"S": "t\n2"}, "message": {"S": "hi"}}}}"#;
        assert_eq!(
            line(&record(insert), &keys, &plain()),
            r#"--:--:-- INSERT GRP#u t 2  message: "hi""#
        );
        let ttl = r#"{"eventName": "REMOVE", "userIdentity": {"type": "Service",
            "principalId": "dynamodb.amazonaws.com"}, "dynamodb": {"SequenceNumber": "3",
            "ApproximateCreationDateTime": 0, "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "t"}}}}"#;
        assert_eq!(
            line(&record(ttl), &keys, &plain()),
            "00:00:00 REMOVE (TTL) MSG#g t"
        );
    }

    #[test]
    fn filters_by_kind_prefix_and_age() {
        let rec = record(MODIFY);
        let keeps = |f: Filter| f.keeps(&rec, "pk");
        assert!(keeps(Filter::default()));
        let kinds = |k: Vec<Kind>| Filter {
            kinds: k,
            ..Filter::default()
        };
        assert!(keeps(kinds(vec![Kind::Insert, Kind::Modify])));
        assert!(!keeps(kinds(vec![Kind::Remove])));
        let prefix = |p: &str| Filter {
            pk_prefix: Some(p.into()),
            ..Filter::default()
        };
        assert!(keeps(prefix("MSG#")));
        assert!(!keeps(prefix("GRP#")));
        let since = |t: f64| Filter {
            not_before: Some(t),
            ..Filter::default()
        };
        assert!(keeps(since(1767225662.0)));
        assert!(!keeps(since(1767225662.5)));
    }
}
