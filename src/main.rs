use std::process::ExitCode;

use clap::Parser;

use ddb::cli::Cli;
use ddb::errors::{exit, exit_code_for, Failure};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse_from(ddb::lambda::args(std::env::args_os()));
    let verbose = cli.global.verbose;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let own_ctrl_c = cli.command.handles_ctrl_c();
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        ddb::interrupt::watch(cancel.clone());
        let work = ddb::cmd::run(cli.command, &cli.global, cancel.clone());
        if own_ctrl_c {
            // These finish what is in flight and report it themselves (then exit 130).
            return work.await;
        }
        tokio::select! {
            r = work => r,
            _ = cancel.cancelled() => Err(Failure::Interrupted("interrupted".into()).into()),
        }
    });
    // Do not wait for in-flight requests after an error or Ctrl-C.
    runtime.shutdown_background();
    match result {
        // A closed stdout is not an error (output::with_stdout): it never hides a failure.
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            if verbose > 0 {
                // Every cause, the SDK's own detail included, for bug reports.
                for (i, cause) in e.chain().enumerate().skip(1) {
                    eprintln!("  {i}: {cause}");
                }
            }
            ExitCode::from(exit_code_for(&e))
        }
    }
}

/// The cause chain on one line, skipping causes already contained in the line (the SDK and
/// our own messages often repeat their source) and stopping at a classified SDK failure, whose
/// message already says it all.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let classified = cause.is::<ddb::errors::Classified>();
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        if classified {
            break;
        }
    }
    line
}
