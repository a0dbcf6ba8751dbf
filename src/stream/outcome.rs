//! What the stream handler says about each record: updated, skipped (and why), or failed, with
//! what it cost. The report, Lambda's log lines and the dead-letter file all read these.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The rows already carry a newer message.
    OlderThanCurrent,
    /// The rows already carry exactly this message (a replay, or an event seen before).
    AlreadyCurrent,
    /// A REMOVE of a message no GRP# row shows: nothing to move.
    Remove,
    NotAMessage(String),
    NoNewImage,
    NoGroupRows(String),
    /// A newer message of the same conversation in the batch was applied instead (its sk).
    Superseded(String),
    /// The message was deleted since: applying it would revive it.
    MessageGone,
    /// A REMOVE took the conversation's last message; the rows stay (they are the only record
    /// of who the participants are).
    NoMessagesLeft,
    /// `eventSourceARN` names another table's stream (the ARN).
    OtherTable(String),
    /// An event name other than INSERT, MODIFY, REMOVE (DynamoDB Local's TTL deletions).
    UnknownEvent(String),
    /// Keys without string `pk` and `sk` (the key names found).
    OtherKeys(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This many GRP# rows now carry the message.
    Updated(usize),
    Skipped(Skip),
    Failed(String),
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Updated(_) => "updated",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The sentence printed per record.
    pub fn text(&self) -> String {
        match self {
            Outcome::Updated(1) => "updated 1 group".to_string(),
            Outcome::Updated(n) => format!("updated {n} groups"),
            Outcome::Skipped(skip) => format!("skipped: {}", skip.reason()),
            Outcome::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

impl Skip {
    /// The kind of skip without its details, to count skips by.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::OlderThanCurrent => "older than current",
            Skip::AlreadyCurrent => "already current",
            Skip::Remove => "remove",
            Skip::NotAMessage(_) => "not a message",
            Skip::NoNewImage => "no new image",
            Skip::NoGroupRows(_) => "no group rows",
            Skip::Superseded(_) => "superseded",
            Skip::MessageGone => "message gone",
            Skip::NoMessagesLeft => "no messages left",
            Skip::OtherTable(_) => "other table",
            Skip::UnknownEvent(_) => "unknown event",
            Skip::OtherKeys(_) => "other keys",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Skip::OlderThanCurrent => "older than current".to_string(),
            Skip::AlreadyCurrent => "the rows already show this message".to_string(),
            Skip::Remove => "REMOVE of a message no row shows".to_string(),
            Skip::NotAMessage(pk) => format!("not a message ({pk})"),
            Skip::NoNewImage => "no NewImage".to_string(),
            Skip::NoGroupRows(g) => format!("no GRP# rows for group {g}"),
            Skip::Superseded(sk) => format!("superseded by {sk}"),
            Skip::MessageGone => "message no longer exists".to_string(),
            Skip::NoMessagesLeft => "no message of the conversation is left".to_string(),
            Skip::OtherTable(arn) => format!("record of another table's stream ({arn})"),
            Skip::UnknownEvent(name) => format!("unknown event name '{name}'"),
            Skip::OtherKeys(keys) => format!("keys of another shape ({keys})"),
        }
    }
}

/// What one record came to, and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordResult {
    pub outcome: Outcome,
    /// Attempts repeated after throttling, 5xx, dropped connections or transaction conflicts.
    /// A coalesced conversation's calls are counted on one of its records (the one applied),
    /// so totals over a batch are exact.
    pub retries: u32,
    /// Times the group's rows were re-read because one changed under us (or looked short).
    pub rechecks: u32,
    /// The record was a message the handler acted on (not skipped before any call).
    pub is_message: bool,
}

impl RecordResult {
    /// An outcome that cost no call.
    pub fn free(outcome: Outcome, is_message: bool) -> RecordResult {
        RecordResult {
            outcome,
            retries: 0,
            rechecks: 0,
            is_message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_sentences() {
        assert_eq!(Outcome::Updated(2).text(), "updated 2 groups");
        assert_eq!(
            Outcome::Skipped(Skip::OlderThanCurrent).text(),
            "skipped: older than current"
        );
        assert_eq!(
            Outcome::Skipped(Skip::NotAMessage("GRP#x".into())).text(),
            "skipped: not a message (GRP#x)"
        );
    }
}
