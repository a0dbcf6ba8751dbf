//! A value of an input that breaks a rule, found before anything is written: where it is (a
//! JSON path such as `conversations[2].messages[0].handle`, or an option such as `--groups`)
//! and what is wrong with it. Commands add the file's name and the exit code.

/// Where a bad value is and what is wrong with it, printed `at: problem`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct Invalid {
    pub at: String,
    pub problem: String,
}

impl Invalid {
    pub fn new(at: impl Into<String>, problem: impl Into<String>) -> Invalid {
        Invalid {
            at: at.into(),
            problem: problem.into(),
        }
    }
}
