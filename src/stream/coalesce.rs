//! The handler's decisions for a conversation's records (a `Lane`), pure: which record wins, what a REMOVE falls back to, and
//! what every other record comes to and why. `handler.rs` reads the rows, asks `Lane::step`,
//! sends what it says, and asks again; nothing here calls AWS.
//!
//! Of a lane's INSERT/MODIFY records only the newest message (by instant, the string as
//! tie-break; the last record of equal keys) is applied; the others are `superseded by <sk>`,
//! or `message no longer exists` once the transaction found their message gone (then the next
//! newest is tried). A message found edited since its record is applied with its text as it
//! is now (the record's own text would be stale). A MODIFY of the message the rows show
//! rewrites them in place. A REMOVE of the message a row shows settles the rows on the newest
//! message that remains; a REMOVE of any other message changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::compare_sk;
use crate::model::is_newer;
use crate::model::item::{get_s, Item};
use crate::rows::plan::{self, OwnerPlan, Target};
use crate::rows::settle::{Settled, Tally};
use crate::stream::classify::{Lane, MessageUpdate, Work};
use crate::stream::outcome::{Outcome, RecordResult, Skip};

/// GRP# rows a conversation has: one per participant.
const PARTICIPANTS: usize = 2;

/// Fewer rows than participants: the group index (eventually consistent) may show a row
/// between its delete and its put, so a look a little later is worth it.
pub fn looks_short(rows: &[Item]) -> bool {
    rows.len() < PARTICIPANTS
}

/// What the transactions found of a lane's messages so far: gone (by sk), or edited since
/// their record (sk -> the text now).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub gone: BTreeSet<String>,
    pub edited: BTreeMap<String, String>,
}

/// What to do next with a lane, given its rows as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Every record's outcome is known; nothing to write.
    Done(Vec<(usize, Outcome)>),
    /// A REMOVE took a message a row shows: settle the rows on the newest message that remains.
    /// `trigger` is the last such REMOVE of the lane.
    Settle { trigger: usize },
    /// Move the rows forward to the message of record `record`, as `plans` say. `current`:
    /// every row already shows this message (so a plan with nothing to do means "already
    /// current", not "older").
    Apply {
        record: usize,
        target: Target,
        plans: Vec<OwnerPlan>,
        current: bool,
    },
}

impl Lane {
    /// The lane's messages newest first; of equal keys the later record first (its image is
    /// the current one).
    fn candidates(&self) -> Vec<(usize, &MessageUpdate)> {
        let mut out: Vec<(usize, &MessageUpdate)> = self
            .records
            .iter()
            .filter_map(|(i, w)| match w {
                Work::Apply(up) => Some((*i, up)),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| compare_sk(&b.1.sk, &a.1.sk).then(b.0.cmp(&a.0)));
        out
    }

    /// Each record's outcome by `f(record, work)`.
    fn each(&self, f: impl Fn(usize, &Work) -> Outcome) -> Vec<(usize, Outcome)> {
        self.records.iter().map(|(i, w)| (*i, f(*i, w))).collect()
    }

    /// Every record of the lane failed for `reason`.
    pub fn failed(&self, reason: &str) -> Vec<(usize, Outcome)> {
        self.each(|_, _| Outcome::Failed(reason.to_string()))
    }

    /// The next step, given the conversation's `rows` (group index) and what the transactions
    /// found of the lane's messages so far.
    pub fn step(&self, rows: &[Item], found: &Found) -> Step {
        if rows.is_empty() {
            return Step::Done(self.each(|_, w| match w {
                Work::Apply(_) => Outcome::Skipped(Skip::NoGroupRows(self.group.clone())),
                _ => Outcome::Skipped(Skip::Remove),
            }));
        }
        let shown = self.records.iter().rev().find(|(_, w)| match w {
            Work::Remove(_, sk) => rows.iter().any(|r| get_s(r, "sk") == Some(sk)),
            _ => false,
        });
        if let Some((trigger, _)) = shown {
            return Step::Settle { trigger: *trigger };
        }
        let candidates = self.candidates();
        let Some((record, up)) = candidates.iter().find(|(_, c)| !found.gone.contains(&c.sk))
        else {
            // Every message of the batch is gone (or there was none): nothing to apply.
            return Step::Done(self.each(|_, w| match w {
                Work::Apply(_) => Outcome::Skipped(Skip::MessageGone),
                _ => Outcome::Skipped(Skip::Remove),
            }));
        };
        let message = found.edited.get(&up.sk).unwrap_or(&up.message);
        let target = Target {
            sk: up.sk.clone(),
            message: message.clone(),
        };
        // Every row of the conversation in one plan: they move together.
        let plans = plan::forward(rows, &target);
        let current = rows.iter().all(|r| plan::sk(r) == target.sk);
        Step::Apply {
            record: *record,
            target,
            plans,
            current,
        }
    }

    /// Outcomes once record `applied`'s message was applied, `updated` rows put in all (none:
    /// the rows already carried it, `current`, or a newer one).
    pub fn after_apply(
        &self,
        applied: usize,
        found: &Found,
        updated: usize,
        current: bool,
    ) -> Vec<(usize, Outcome)> {
        let winner = self.records.iter().find_map(|(i, w)| match w {
            Work::Apply(up) if *i == applied => Some(up.sk.clone()),
            _ => None,
        });
        let winner = winner.unwrap_or_default();
        self.each(|i, w| match w {
            Work::Apply(_) if i == applied => match (updated, current) {
                (0, true) => Outcome::Skipped(Skip::AlreadyCurrent),
                (0, false) => Outcome::Skipped(Skip::OlderThanCurrent),
                (n, _) => Outcome::Updated(n),
            },
            Work::Apply(c) if found.gone.contains(&c.sk) => Outcome::Skipped(Skip::MessageGone),
            Work::Apply(_) => Outcome::Skipped(Skip::Superseded(winner.clone())),
            _ => Outcome::Skipped(Skip::Remove),
        })
    }

    /// Outcomes once a REMOVE (`trigger`) of a shown message made the rows settle on the newest
    /// message that remains (`settled.target`).
    pub fn after_settle(&self, trigger: usize, settled: &Settled) -> Vec<(usize, Outcome)> {
        let put = settled.rows_put as usize;
        let moved = |fallback: Skip| {
            if put > 0 {
                Outcome::Updated(put)
            } else {
                Outcome::Skipped(fallback)
            }
        };
        let Some(target) = &settled.target else {
            return self.each(|i, w| match w {
                Work::Apply(_) => Outcome::Skipped(Skip::MessageGone),
                _ if i == trigger => Outcome::Skipped(Skip::NoMessagesLeft),
                _ => Outcome::Skipped(Skip::Remove),
            });
        };
        // The record that carries the result: the newest record of the target message, if the
        // batch has one, else the REMOVE that made the rows move.
        let carrier = self
            .candidates()
            .iter()
            .find(|(_, c)| c.sk == target.sk)
            .map_or(trigger, |(i, _)| *i);
        self.each(|i, w| match w {
            _ if i == carrier && carrier == trigger => moved(Skip::Remove),
            // The rows were already on the message this record brings.
            _ if i == carrier => moved(Skip::AlreadyCurrent),
            Work::Apply(c) if is_newer(&c.sk, &target.sk) => Outcome::Skipped(Skip::MessageGone),
            Work::Apply(_) => Outcome::Skipped(Skip::Superseded(target.sk.clone())),
            _ => Outcome::Skipped(Skip::Remove),
        })
    }

    /// The lane's results: the conversation's calls (`tally`) are counted on one record, the
    /// first updated one (else the first), so that totals over a batch are exact.
    pub fn results(
        &self,
        outcomes: Vec<(usize, Outcome)>,
        tally: Tally,
    ) -> Vec<(usize, RecordResult)> {
        let lead = outcomes
            .iter()
            .position(|(_, o)| matches!(o, Outcome::Updated(_)))
            .unwrap_or(0);
        outcomes
            .into_iter()
            .enumerate()
            .map(|(n, (i, outcome))| {
                let is_message = self
                    .records
                    .iter()
                    .any(|(j, w)| *j == i && matches!(w, Work::Apply(_)));
                let mut r = RecordResult::free(outcome, is_message);
                if n == lead {
                    r.retries = tally.retries;
                    r.rechecks = tally.rechecks;
                }
                (i, r)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::plan::tests::{T1, T2, T3};

    const T0: &str = "2026-01-01T00:00:00.000000+00:00";

    fn up(sk: &str, message: &str) -> Work {
        Work::Apply(MessageUpdate {
            group: "g".into(),
            sk: sk.into(),
            message: message.into(),
        })
    }

    fn rm(sk: &str) -> Work {
        Work::Remove("g".into(), sk.into())
    }

    fn lane(works: Vec<Work>) -> Lane {
        Lane {
            group: "g".into(),
            records: works.into_iter().enumerate().collect(),
        }
    }

    fn row(owner: &str, sk: &str) -> Item {
        plan::tests::row(owner, sk, "shown")
    }

    fn both_at(sk: &str) -> Vec<Item> {
        vec![row("a", sk), row("b", sk)]
    }

    fn gone(sks: &[&str]) -> Found {
        Found {
            gone: sks.iter().map(|s| s.to_string()).collect(),
            ..Found::default()
        }
    }

    fn skipped(skip: Skip) -> Outcome {
        Outcome::Skipped(skip)
    }

    fn settled(target: Option<(&str, &str)>, rows_put: u32) -> Settled {
        Settled {
            target: target.map(|(sk, message)| Target {
                sk: sk.into(),
                message: message.into(),
            }),
            rows_put,
            rows_deleted: rows_put,
        }
    }

    /// The record and message a step applies.
    fn applies(step: &Step) -> (usize, &str, &str) {
        match step {
            Step::Apply { record, target, .. } => (*record, &target.sk, &target.message),
            other => panic!("expected a move, got {other:?}"),
        }
    }

    #[test]
    fn the_newest_message_wins_and_the_others_are_superseded() {
        let l = lane(vec![up(T2, "two"), up(T3, "three"), up(T1, "one"), rm(T0)]);
        let step = l.step(&both_at(T1), &gone(&[]));
        assert_eq!(applies(&step), (1, T3, "three"));
        let Step::Apply { plans, .. } = &step else {
            unreachable!()
        };
        assert_eq!(plans.len(), 2, "both participants' rows in one plan");
        assert_eq!(
            l.after_apply(1, &gone(&[]), 2, false),
            [
                (0, skipped(Skip::Superseded(T3.into()))),
                (1, Outcome::Updated(2)),
                (2, skipped(Skip::Superseded(T3.into()))),
                (3, skipped(Skip::Remove)),
            ]
        );
        // The rows already carried it (or newer): nothing was put.
        assert_eq!(
            l.after_apply(1, &gone(&[]), 0, false)[1],
            (1, skipped(Skip::OlderThanCurrent))
        );
        // They already carried exactly it: said so, not "older".
        assert_eq!(
            l.after_apply(1, &gone(&[]), 0, true)[1],
            (1, skipped(Skip::AlreadyCurrent))
        );
    }

    #[test]
    fn of_equal_keys_the_later_record_wins_and_instants_beat_strings() {
        let l = lane(vec![up(T2, "first"), up(T2, "edited")]);
        assert_eq!(
            applies(&l.step(&both_at(T1), &gone(&[]))),
            (1, T2, "edited")
        );
        // 01:00 at +02:00 sorts after T1 as text but is 23:00 the day before.
        let east = "2026-01-01T01:00:00.000000+02:00";
        let l = lane(vec![up(T1, "one"), up(east, "east")]);
        assert_eq!(applies(&l.step(&both_at(T0), &gone(&[]))), (0, T1, "one"));
    }

    #[test]
    fn an_edit_of_the_shown_message_rewrites_the_rows_with_its_text_now() {
        // A MODIFY of the message both rows show: same sk, new text, rewritten in place.
        let l = lane(vec![up(T2, "edited")]);
        let step = l.step(&both_at(T2), &gone(&[]));
        let Step::Apply { plans, current, .. } = &step else {
            panic!("expected a move, got {step:?}")
        };
        assert!(*current);
        assert!(plans
            .iter()
            .all(|p| matches!(p, OwnerPlan::Move { from: None, .. })));
        // The same text again: nothing to write, and the record says the rows already show it.
        let l = lane(vec![up(T2, "shown")]);
        let Step::Apply { plans, .. } = l.step(&both_at(T2), &gone(&[])) else {
            unreachable!()
        };
        assert!(plans.iter().all(OwnerPlan::is_noop));
        // A record whose message was edited since: applied with the text it has now.
        let l = lane(vec![up(T3, "before the edit")]);
        let found = Found {
            edited: [(T3.to_string(), "after the edit".to_string())].into(),
            ..Found::default()
        };
        assert_eq!(
            applies(&l.step(&both_at(T1), &found)),
            (0, T3, "after the edit")
        );
    }

    #[test]
    fn a_message_found_gone_falls_back_to_the_next_newest() {
        let l = lane(vec![up(T1, "one"), up(T3, "three"), up(T2, "two")]);
        let found = gone(&[T3]);
        assert_eq!(applies(&l.step(&both_at(T1), &found)), (2, T2, "two"));
        assert_eq!(
            l.after_apply(2, &found, 2, false),
            [
                (0, skipped(Skip::Superseded(T2.into()))),
                (1, skipped(Skip::MessageGone)),
                (2, Outcome::Updated(2)),
            ]
        );
        // All gone: nothing to apply and nothing to write; a REMOVE of a message no row shows
        // changes nothing.
        let l = lane(vec![up(T2, "two"), rm(T0), up(T3, "three")]);
        assert_eq!(
            l.step(&both_at(T1), &gone(&[T2, T3])),
            Step::Done(vec![
                (0, skipped(Skip::MessageGone)),
                (1, skipped(Skip::Remove)),
                (2, skipped(Skip::MessageGone)),
            ])
        );
    }

    #[test]
    fn without_rows_nothing_is_written() {
        let l = lane(vec![up(T2, "two"), rm(T1)]);
        assert_eq!(
            l.step(&[], &gone(&[])),
            Step::Done(vec![
                (0, skipped(Skip::NoGroupRows("g".into()))),
                (1, skipped(Skip::Remove)),
            ])
        );
        assert!(looks_short(&[row("a", T1)]));
        assert!(!looks_short(&both_at(T1)));
    }

    #[test]
    fn a_remove_of_a_shown_message_settles_and_the_last_one_triggers() {
        // One row shows T3 (the other is already elsewhere): the REMOVE of T3 is the trigger,
        // the later REMOVE of T0 is not shown, and messages in the lane wait for the settle.
        let rows = [row("a", T3), row("b", T1)];
        let l = lane(vec![rm(T3), up(T2, "two"), rm(T1), rm(T0)]);
        assert_eq!(
            l.step(&rows, &gone(&[])),
            Step::Settle { trigger: 2 },
            "the last REMOVE of a shown message"
        );
    }

    #[test]
    fn after_a_settle_the_record_of_the_message_settled_on_carries_the_result() {
        let l = lane(vec![up(T3, "three"), up(T2, "two"), up(T1, "one"), rm(T3)]);
        assert_eq!(
            l.after_settle(3, &settled(Some((T2, "two")), 2)),
            [
                (0, skipped(Skip::MessageGone)),
                (1, Outcome::Updated(2)),
                (2, skipped(Skip::Superseded(T2.into()))),
                (3, skipped(Skip::Remove)),
            ]
        );
        // Already there: the carrier's message is what the rows show.
        assert_eq!(
            l.after_settle(3, &settled(Some((T2, "two")), 0))[1],
            (1, skipped(Skip::AlreadyCurrent))
        );
        // The batch has no record of the message settled on: the REMOVE carries it.
        let l = lane(vec![rm(T3), up(T3, "three")]);
        assert_eq!(
            l.after_settle(0, &settled(Some((T1, "one")), 2)),
            [(0, Outcome::Updated(2)), (1, skipped(Skip::MessageGone))]
        );
        assert_eq!(
            l.after_settle(0, &settled(Some((T1, "one")), 0))[0],
            (0, skipped(Skip::Remove))
        );
    }

    #[test]
    fn after_a_settle_with_no_message_left_the_rows_stay() {
        let l = lane(vec![up(T3, "three"), rm(T3), rm(T2)]);
        assert_eq!(
            l.after_settle(1, &settled(None, 0)),
            [
                (0, skipped(Skip::MessageGone)),
                (1, skipped(Skip::NoMessagesLeft)),
                (2, skipped(Skip::Remove)),
            ]
        );
    }

    #[test]
    fn a_conversations_calls_are_counted_on_one_record() {
        let l = lane(vec![up(T1, "one"), up(T2, "two"), rm(T0)]);
        let tally = Tally {
            retries: 3,
            rechecks: 1,
            guard_failures: 1,
        };
        let results = l.results(l.after_apply(1, &gone(&[]), 2, false), tally);
        let counts: Vec<(usize, u32, u32, bool)> = results
            .iter()
            .map(|(i, r)| (*i, r.retries, r.rechecks, r.is_message))
            .collect();
        assert_eq!(
            counts,
            [(0, 0, 0, true), (1, 3, 1, true), (2, 0, 0, false)],
            "on the record applied"
        );
        // Nothing updated: on the first record.
        let failed = l.results(l.failed("boom"), tally);
        assert_eq!((failed[0].1.retries, failed[1].1.retries), (3, 0));
        assert_eq!(failed[2].1.outcome, Outcome::Failed("boom".into()));
    }
}
