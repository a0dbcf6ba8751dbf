use std::process::ExitCode;

use ddb::cli::Cli;
use ddb::cmd::Run;
use ddb::errors::{causes, exit, exit_code_for, scrub, Failure};
use ddb::term::safe::terminal_safe;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = match Cli::parse_from_args(ddb::stream::lambda::args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
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
    let run = Run::new(cancel.clone());
    let result = runtime.block_on(async {
        ddb::aws::interrupt::watch(cancel.clone());
        let work = cli.run(&run);
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
    // A closed stdout is not an error (output::with_stdout): it never hides a failure.
    let code = match &result {
        Ok(()) => exit::OK,
        // `diff --exit-code`: the differences were the output.
        Err(e) if matches!(ddb::errors::failure_of(e), Some(Failure::Differ)) => exit::FAILURE,
        Err(e) => {
            ddb::term::output::note(format!("error: {}", printable(&causes(&**e))));
            if verbose > 0 {
                // Every cause, the SDK's own detail included, for bug reports.
                for (i, cause) in e.chain().enumerate().skip(1) {
                    ddb::term::output::note(format!("  {i}: {}", printable(&cause.to_string())));
                }
            }
            exit_code_for(e)
        }
    };
    if let (true, Some(retried)) = (verbose > 0, run.retries()) {
        let line = match retried {
            1 => "ddb: 1 attempt retried".to_string(),
            n => format!("ddb: {n} attempts retried"),
        };
        ddb::term::output::note(line);
    }
    ExitCode::from(code)
}

/// An error line as printed: no credentials (errors::scrub), and table text quoted in it made
/// terminal-safe.
fn printable(text: &str) -> String {
    terminal_safe(&scrub(&ddb::model::checked::redact_urls_in(text))).into_owned()
}

/// clap's errors on one line and exit 2 (help and --version print as usual, exit 0). A bad
/// value is a usage error like a missing argument: see `ddb::model::checked` for the rule.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE));
    }
    let text = e.render().to_string();
    let body = text
        .split("\n\nUsage:")
        .next()
        .unwrap_or("")
        .split("\n\nFor more information")
        .next()
        .unwrap_or("");
    let mut line = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(rest) = line.strip_prefix("error: ") {
        line = rest.to_string();
    }
    // args_os: an argument that is not UTF-8 is what clap is refusing here; never panic on it.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let sub = ddb::cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .find(|name| args.iter().any(|a| a == name));
    let help = match sub {
        Some(s) => format!("ddb {s} --help"),
        None => "ddb --help".to_string(),
    };
    ddb::term::output::note(format!("error: {}; see `{help}`", printable(&line)));
    ExitCode::from(exit::USAGE)
}
