//! Ctrl-C, the same for every command: the first one cancels the run's token (held by the
//! `Db` handle), so retry pauses end at once, writers stop taking new batches, the stream
//! handler stops taking new records, and the command reports exactly what it did and exits
//! 130; a second one quits at once with exit 130.

use tokio_util::sync::CancellationToken;

use crate::errors::exit;
use crate::term::output;

/// Listen for Ctrl-C for the rest of the process.
pub fn watch(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        cancel.cancel();
        output::note("ddb: stopping after the work in flight (Ctrl-C again to quit at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            // The user asked twice: nothing in flight is worth waiting for.
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
}

/// SIGTERM (`ddb local stop`, a service manager) ends the run like the first Ctrl-C: the
/// work in flight is finished and its state saved.
#[cfg(unix)]
pub fn watch_terminate(cancel: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        if term.recv().await.is_some() {
            cancel.cancel();
        }
    });
}

#[cfg(not(unix))]
pub fn watch_terminate(_cancel: CancellationToken) {}
