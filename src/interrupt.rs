//! Ctrl-C for commands that stop cleanly (seed, simulate-stream): the first one raises a flag
//! the work checks between units (batches, records) so that the command can finish what is in
//! flight and report exactly what was done; a second one quits at once with exit 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::errors::exit;
use crate::output;

/// Raised by the first Ctrl-C; `wake` is notified too, for work that is sleeping between polls.
#[derive(Clone, Default)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
    pub wake: Arc<Notify>,
}

impl Interrupt {
    /// Start listening; `doing` completes "stopping after …" in the message to the user.
    pub fn watch(doing: &'static str) -> Interrupt {
        let interrupt = Interrupt::default();
        let (flag, wake) = (interrupt.flag.clone(), interrupt.wake.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            flag.store(true, Ordering::SeqCst);
            wake.notify_one();
            output::note(format!(
                "ddb: stopping after {doing} (Ctrl-C again to quit at once)"
            ));
            if tokio::signal::ctrl_c().await.is_ok() {
                // The user asked twice: nothing in flight is worth waiting for.
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        });
        interrupt
    }

    pub fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The flag itself, for code that only needs to check it.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }
}
