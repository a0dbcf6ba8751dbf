//! One shard of a DynamoDB stream as explicit states, and the pure rules that move it from one
//! state to the next on what GetShardIterator or GetRecords answered. The I/O lives in
//! `stream_source`; everything that decides lives here, unit-tested without a network.
//!
//! DynamoDB Streams gives no "behind latest" figure, and GetRecords on an open shard may answer
//! with an empty page while records follow. So an open shard counts as caught up (at its tip)
//! only after `tip_pages` empty pages in a row; a closed shard is read until GetRecords returns
//! no next iterator (its end).

/// Where GetShardIterator starts reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    TrimHorizon,
    Latest,
    /// Just after this sequence number (a checkpoint, or the last record read).
    After(String),
}

/// Where reading one shard stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardState {
    /// No iterator: the next call is GetShardIterator at this position.
    Start(Position),
    /// An iterator to read with.
    Reading { iterator: String },
    /// An open shard that answered `tip_pages` empty pages in a row: caught up for now. With
    /// `--follow` it is polled again from `iterator`.
    AtTip { iterator: String },
    /// A closed shard read to its end: its children may start.
    Ended,
}

/// What one call for the shard answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// GetShardIterator; `None` when there is nothing to read (the shard ended).
    Iterator(Option<String>),
    /// GetRecords: how many records, the last one's sequence number, and the next iterator
    /// (`None` at the end of a closed shard).
    Page {
        records: usize,
        last: Option<String>,
        next: Option<String>,
    },
    /// ExpiredIteratorException (iterators last 15 minutes).
    Expired,
    /// TrimmedDataAccessException: the position asked for is older than the stream's 24-hour
    /// retention; the records in between are gone.
    Trimmed,
}

/// How the reader treats what DynamoDB Local never shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Empty pages in a row after which an open shard is at its tip.
    pub tip_pages: u32,
    /// After TrimmedDataAccessException, start the shard again from TRIM_HORIZON.
    pub restart_trimmed: bool,
}

/// Empty pages in a row after which a closed shard that still returns iterators is treated as
/// at its tip (it should end with no next iterator; this bounds a misbehaving endpoint).
pub const CLOSED_EMPTY_LIMIT: u32 = 1000;
/// Iterator renewals in a row without a page read, before giving up on the shard.
pub const MAX_RENEWALS: u32 = 10;

/// What the reader must do after a transition, beyond reading on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    None,
    /// The iterator expired; a new one is asked for after the last record read.
    Renewed,
    /// Trimmed, and started again from TRIM_HORIZON (records in between are lost).
    RestartedTrimmed {
        lost_after: Option<String>,
    },
}

/// Why a shard cannot be read on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// Trimmed while a position after `after` was wanted, and no `--restart-trimmed`.
    Trimmed { after: Option<String> },
    /// The iterator expired or was trimmed again and again without a page in between.
    NoProgress,
}

/// One shard as the reader tracks it.
#[derive(Clone, Debug)]
pub struct Shard {
    pub id: String,
    pub parent: Option<String>,
    /// DescribeStream shows an ending sequence number: the shard ends, and children follow.
    pub closed: bool,
    pub state: ShardState,
    /// Where this shard began in this run (a checkpoint, or the run's start position).
    pub origin: Position,
    /// The sequence number of the last record handed out from this shard in this run.
    pub read_to: Option<String>,
    /// Empty pages in a row (across iterator renewals: an expired iterator is no record).
    pub empty: u32,
    /// Renewals (expired or trimmed) since the last page.
    renewals: u32,
}

impl Shard {
    pub fn new(id: &str, parent: Option<&str>, closed: bool, origin: Position) -> Shard {
        Shard {
            id: id.to_string(),
            parent: parent.map(str::to_string),
            closed,
            state: ShardState::Start(origin.clone()),
            origin,
            read_to: None,
            empty: 0,
            renewals: 0,
        }
    }

    /// Still has something to read in this pass (not at its tip, not ended).
    pub fn readable(&self) -> bool {
        matches!(
            self.state,
            ShardState::Start(_) | ShardState::Reading { .. }
        )
    }

    /// Where to continue when the iterator is lost: after the last record read, or where the
    /// shard began. Never before (a repeat) nor after (a skip) what was handed out.
    pub fn resume_at(&self) -> Position {
        match &self.read_to {
            Some(seq) => Position::After(seq.clone()),
            None => self.origin.clone(),
        }
    }

    /// A caught-up shard is polled again (`--follow`): one more empty page puts it back at its
    /// tip, a page of records makes it read on.
    pub fn wake(&mut self, rules: &Rules) {
        if let ShardState::AtTip { iterator } = &self.state {
            self.empty = if self.closed {
                0 // it closed since: read it to its end
            } else {
                rules.tip_pages.saturating_sub(1)
            };
            self.state = ShardState::Reading {
                iterator: iterator.clone(),
            };
        }
    }

    /// The one transition function.
    pub fn next(&mut self, event: Event, rules: &Rules) -> Result<Note, Halt> {
        let state = std::mem::replace(&mut self.state, ShardState::Ended);
        let (state, note) = match (state, event) {
            (ShardState::Start(_), Event::Iterator(Some(iterator))) => {
                (ShardState::Reading { iterator }, Note::None)
            }
            (ShardState::Start(_), Event::Iterator(None)) => (ShardState::Ended, Note::None),
            (
                ShardState::Reading { .. },
                Event::Page {
                    records,
                    last,
                    next,
                },
            ) => {
                self.renewals = 0;
                if records > 0 {
                    if last.is_some() {
                        self.read_to = last;
                    }
                    self.empty = 0;
                } else {
                    self.empty += 1;
                }
                let limit = if self.closed {
                    CLOSED_EMPTY_LIMIT
                } else {
                    rules.tip_pages.max(1)
                };
                let state = match next {
                    None => ShardState::Ended,
                    Some(iterator) if self.empty >= limit => ShardState::AtTip { iterator },
                    Some(iterator) => ShardState::Reading { iterator },
                };
                (state, Note::None)
            }
            (_, Event::Expired) => {
                self.renewals += 1;
                if self.renewals > MAX_RENEWALS {
                    return Err(Halt::NoProgress);
                }
                (ShardState::Start(self.resume_at()), Note::Renewed)
            }
            (_, Event::Trimmed) => {
                self.renewals += 1;
                if self.renewals > MAX_RENEWALS {
                    return Err(Halt::NoProgress);
                }
                let wanted = self.resume_at();
                match wanted {
                    // Asked for the oldest record there is: starting there again loses nothing.
                    Position::TrimHorizon => (ShardState::Start(wanted), Note::None),
                    _ if rules.restart_trimmed => {
                        let lost_after = match wanted {
                            Position::After(seq) => Some(seq),
                            _ => None,
                        };
                        (
                            ShardState::Start(Position::TrimHorizon),
                            Note::RestartedTrimmed { lost_after },
                        )
                    }
                    Position::After(seq) => {
                        self.state = ShardState::Start(Position::After(seq.clone()));
                        return Err(Halt::Trimmed { after: Some(seq) });
                    }
                    Position::Latest => {
                        self.state = ShardState::Start(Position::Latest);
                        return Err(Halt::Trimmed { after: None });
                    }
                }
            }
            // An answer that does not fit the state (a page without an iterator, an iterator
            // while reading) cannot come from the reader; keep the state as it was.
            (state, _) => (state, Note::None),
        };
        self.state = state;
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        tip_pages: 3,
        restart_trimmed: false,
    };

    fn page(records: usize, last: Option<&str>, next: Option<&str>) -> Event {
        Event::Page {
            records,
            last: last.map(str::to_string),
            next: next.map(str::to_string),
        }
    }

    fn reading(id: &str, closed: bool) -> Shard {
        let mut s = Shard::new(id, None, closed, Position::TrimHorizon);
        s.next(Event::Iterator(Some("it0".into())), &RULES).unwrap();
        s
    }

    #[test]
    fn an_open_shard_is_at_its_tip_only_after_enough_empty_pages_in_a_row() {
        let mut s = reading("a", false);
        s.next(page(0, None, Some("it1")), &RULES).unwrap();
        s.next(page(0, None, Some("it2")), &RULES).unwrap();
        assert!(
            s.readable(),
            "two empty pages are not the tip: {:?}",
            s.state
        );
        // Records reset the count.
        s.next(page(5, Some("105"), Some("it3")), &RULES).unwrap();
        assert_eq!(s.read_to.as_deref(), Some("105"));
        for n in 4..6 {
            s.next(page(0, None, Some(&format!("it{n}"))), &RULES)
                .unwrap();
            assert!(s.readable());
        }
        s.next(page(0, None, Some("it6")), &RULES).unwrap();
        assert_eq!(
            s.state,
            ShardState::AtTip {
                iterator: "it6".into()
            }
        );
        // Polled again under --follow: one empty page and it is back at the tip...
        s.wake(&RULES);
        assert!(s.readable());
        s.next(page(0, None, Some("it7")), &RULES).unwrap();
        assert!(!s.readable());
        // ...and records make it read on.
        s.wake(&RULES);
        s.next(page(1, Some("106"), Some("it8")), &RULES).unwrap();
        assert_eq!(
            s.state,
            ShardState::Reading {
                iterator: "it8".into()
            }
        );
        assert_eq!(s.empty, 0);
    }

    #[test]
    fn a_closed_shard_is_read_to_its_end_through_empty_pages() {
        let mut s = reading("c", true);
        for n in 0..50 {
            s.next(page(0, None, Some(&format!("it{n}"))), &RULES)
                .unwrap();
            assert!(s.readable());
        }
        s.next(page(2, Some("9"), None), &RULES).unwrap();
        assert_eq!(s.state, ShardState::Ended);
        assert_eq!(s.read_to.as_deref(), Some("9"));
    }

    #[test]
    fn an_expired_iterator_resumes_after_the_last_record_read() {
        let mut s = Shard::new("a", None, false, Position::After("100".into()));
        // Nothing read yet: back to where the shard began (the checkpoint).
        s.next(Event::Iterator(Some("it".into())), &RULES).unwrap();
        assert_eq!(s.next(Event::Expired, &RULES), Ok(Note::Renewed));
        assert_eq!(s.state, ShardState::Start(Position::After("100".into())));
        // After a page: after its last record, neither repeating nor skipping.
        s.next(Event::Iterator(Some("it".into())), &RULES).unwrap();
        s.next(page(3, Some("103"), Some("it2")), &RULES).unwrap();
        s.next(Event::Expired, &RULES).unwrap();
        assert_eq!(s.state, ShardState::Start(Position::After("103".into())));
    }

    #[test]
    fn empty_pages_count_across_iterator_renewals() {
        let mut s = reading("a", false);
        for _ in 0..2 {
            s.next(page(0, None, Some("it")), &RULES).unwrap();
            s.next(Event::Expired, &RULES).unwrap();
            s.next(Event::Iterator(Some("it".into())), &RULES).unwrap();
        }
        s.next(page(0, None, Some("it")), &RULES).unwrap();
        assert!(
            !s.readable(),
            "three empty pages, renewals between: {:?}",
            s.state
        );
    }

    #[test]
    fn renewals_without_progress_are_bounded() {
        let mut s = reading("a", false);
        for _ in 0..MAX_RENEWALS {
            s.next(Event::Expired, &RULES).unwrap();
            s.next(Event::Iterator(Some("it".into())), &RULES).unwrap();
        }
        assert_eq!(s.next(Event::Expired, &RULES), Err(Halt::NoProgress));
    }

    #[test]
    fn trimmed_stops_unless_restarting_is_asked_for() {
        let mut s = Shard::new("a", None, false, Position::After("100".into()));
        assert_eq!(
            s.next(Event::Trimmed, &RULES),
            Err(Halt::Trimmed {
                after: Some("100".into())
            })
        );
        let restart = Rules {
            restart_trimmed: true,
            ..RULES
        };
        assert_eq!(
            s.next(Event::Trimmed, &restart),
            Ok(Note::RestartedTrimmed {
                lost_after: Some("100".into())
            })
        );
        assert_eq!(s.state, ShardState::Start(Position::TrimHorizon));
        // From the oldest record on, trimming loses nothing asked for: just start again.
        let mut t = Shard::new("b", None, false, Position::TrimHorizon);
        assert_eq!(t.next(Event::Trimmed, &RULES), Ok(Note::None));
        assert_eq!(t.state, ShardState::Start(Position::TrimHorizon));
    }

    #[test]
    fn an_iterator_of_none_ends_the_shard() {
        let mut s = Shard::new("a", None, true, Position::After("5".into()));
        s.next(Event::Iterator(None), &RULES).unwrap();
        assert_eq!(s.state, ShardState::Ended);
        assert!(!s.readable());
    }
}
