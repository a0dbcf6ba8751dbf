//! `ddb local start|stop|status|logs|handler|install`: DynamoDB Local on this machine, from
//! any folder, and the stream handler running beside it like the deployed Lambda. The
//! processes and files are `aws::local` (DynamoDB Local) and `stream::follow` (the handler).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::{Ctx, Global, Run};
use crate::aws::client::{self, TargetOptions};
use crate::aws::local::server::{self, StartOptions, Started, Stopped};
use crate::aws::local::{self, install, process, tilde, Dirs, Instance, DEFAULT_PORT};
use crate::errors::Failure;
use crate::stream::follow::{self, Follower};
use crate::term::output;
use crate::term::safe::terminal_safe;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Start DynamoDB Local in the background (installed on first use) [API: ListTables]
    #[command(after_help = "Examples:\n  ddb local start --handler\n  \
        ddb local start --port 8001 --in-memory\n  ddb local start --docker")]
    Start(StartArgs),
    /// Stop the handlers and the DynamoDB Local that ddb started [API: none]
    #[command(after_help = "Examples:\n  ddb local stop")]
    Stop,
    /// Is DynamoDB Local running, and how far is each handler? Exit 3 if it does not answer [API: none]
    #[command(after_help = "Examples:\n  ddb local status\n  ddb local status -o json")]
    Status(PortArg),
    /// Show what the handler did (or DynamoDB Local's own log) [API: none]
    #[command(after_help = "Examples:\n  ddb local logs\n  ddb local logs -f\n  \
        ddb local logs --dynamodb -n 100")]
    Logs(LogsArgs),
    /// Run the stream handler in the background, like the deployed Lambda [API: Query, TransactWriteItems; DescribeTable, DescribeStream, GetShardIterator, GetRecords]
    #[command(after_help = "Examples:\n  ddb local handler\n  \
        ddb --table scratch local handler\n  ddb local handler --foreground")]
    Handler(HandlerArgs),
    /// Wait until the handler has handled every record written so far (scripts, demos) [API: none]
    #[command(
        after_help = "Examples:\n  ddb --local put-message --group \"$GROUP\" --handle bayko \\\n    \
        --message hi && ddb local wait"
    )]
    Wait(WaitArgs),
    /// Fetch DynamoDB Local into the cache without starting it (CI caches) [API: none]
    #[command(after_help = "Examples:\n  ddb local install")]
    Install,
}

#[derive(Debug, clap::Args)]
pub struct PortArg {
    /// The port DynamoDB Local listens on
    #[arg(long, env = "DDB_LOCAL_PORT", default_value_t = DEFAULT_PORT, value_name = "PORT")]
    pub port: u16,
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub port: PortArg,
    /// Keep the tables in memory only (gone at stop)
    #[arg(long)]
    pub in_memory: bool,
    /// Run Docker's amazon/dynamodb-local instead of Java
    #[arg(long)]
    pub docker: bool,
    /// Also run the stream handler in the background
    #[arg(long)]
    pub handler: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// DynamoDB Local's own log instead of the handler's
    #[arg(long)]
    pub dynamodb: bool,
    /// Show the last N lines
    #[arg(short = 'n', long, default_value_t = 30, value_name = "N")]
    pub lines: usize,
    /// Keep printing new lines until Ctrl-C
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Give up (exit 7) after this many seconds
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct HandlerArgs {
    /// Run in this terminal until Ctrl-C
    #[arg(long)]
    pub foreground: bool,
    /// Stop the table's background handler
    #[arg(long, conflicts_with = "foreground")]
    pub stop: bool,
}

impl Args {
    /// Runs until Ctrl-C, which ends it normally (exit 0): the foreground handler (after the
    /// batch in flight) and `logs -f`.
    pub fn ends_on_ctrl_c(&self) -> bool {
        match &self.command {
            Sub::Handler(h) => h.foreground,
            Sub::Logs(l) => l.follow,
            _ => false,
        }
    }
}

pub async fn run(args: Args, global: &Global, run: &Run) -> Result<()> {
    let dirs = Dirs::current()?;
    match args.command {
        Sub::Start(a) => start(&a, &dirs, global).await,
        Sub::Stop => stop(&dirs, global),
        Sub::Status(a) => status(&dirs, a.port, global),
        Sub::Logs(a) => logs(&a, &dirs, global, &run.cancel).await,
        Sub::Handler(a) if a.stop => {
            let what = match follow::stop(&dirs, &global.table) {
                Some(pid) => format!("handler for {} stopped (pid {pid})", global.table),
                None => format!("no handler is running for {}", global.table),
            };
            output::line(what)
        }
        Sub::Handler(a) if a.foreground => foreground(&dirs, global, run).await,
        Sub::Handler(_) => {
            let endpoint = handler_endpoint(&global.target)?;
            background_handler(&dirs, &endpoint, global)
        }
        Sub::Wait(a) => {
            let limit = Duration::from_secs(a.timeout);
            let done = follow::wait_caught_up(&dirs, &global.table, limit)
                .map_err(|e| Failure::NotFound(e.to_string()))?;
            if !done {
                return Err(Failure::Partial(format!(
                    "the handler for {} has not caught up within {} s (ddb local logs)",
                    global.table, a.timeout
                ))
                .into());
            }
            Ok(())
        }
        Sub::Install => {
            let fetched = install::ensure(&dirs.jar, |s| output::note(format!("ddb: {s}")))?;
            if global.style.is_json() {
                return output::print_json(global.style.format, &json!({"dir": dirs.jar}));
            }
            let how = if fetched {
                "installed"
            } else {
                "already installed"
            };
            output::line(format!(
                "DynamoDB Local {} {how} in {}",
                local::VERSION,
                tilde(&dirs.jar)
            ))
        }
    }
}

async fn start(a: &StartArgs, dirs: &Dirs, global: &Global) -> Result<()> {
    let opts = StartOptions {
        port: a.port.port,
        in_memory: a.in_memory,
        docker: a.docker,
    };
    let endpoint = format!("http://localhost:{}", opts.port);
    let started = server::start(dirs, opts, |s| output::note(format!("ddb: {s}")))?;
    let mut lines = Vec::new();
    let instance = match &started {
        Started::Already(i) => {
            lines.push(format!("DynamoDB Local already running on {endpoint}"));
            Some(i)
        }
        Started::New(i) => {
            lines.push(format!(
                "DynamoDB Local {} running on {endpoint}",
                local::VERSION
            ));
            Some(i)
        }
        Started::Foreign => {
            check_is_dynamodb(&endpoint).await?;
            server::adopt(dirs, opts.port)?;
            lines.push(format!(
                "{endpoint} already answers (not started by ddb: Docker?); using it"
            ));
            None
        }
    };
    if let Some(i) = instance.filter(|i| !i.external) {
        lines.push(match &i.data {
            Some(d) => format!("tables kept in {}", tilde(d)),
            None => "tables in memory: gone at `ddb local stop`".into(),
        });
    }
    let handler = if a.handler {
        let (f, _) = follow::start_background(dirs, &endpoint, &global.table)?;
        lines.push(format!(
            "handler following {} (pid {}); see ddb local logs",
            f.table, f.pid
        ));
        Some(f)
    } else {
        None
    };
    if global.style.is_json() {
        return output::print_json(
            global.style.format,
            &json!({"endpoint": endpoint, "started_by_ddb": instance.is_some(),
                    "instance": instance, "handler": handler}),
        );
    }
    if opts.port != DEFAULT_PORT {
        lines.push(format!(
            "ddb --local finds it; other clients: AWS_ENDPOINT_URL={endpoint}"
        ));
    } else {
        lines.push(format!(
            "use it: ddb --local …, or AWS_ENDPOINT_URL={endpoint}"
        ));
    }
    output::line(lines.join("\n"))
}

/// Something answers on the port: DynamoDB (a ListTables works) or a clear error.
async fn check_is_dynamodb(endpoint: &str) -> Result<()> {
    let opts = TargetOptions {
        endpoint_url: Some(endpoint.to_string()),
        ..TargetOptions::default()
    };
    let mut db = client::build(&opts, crate::model::DEFAULT_TABLE, Default::default()).await?;
    db.backoff.max_attempts = 2;
    let sent = db.send(|| db.dynamodb.list_tables().limit(1).send()).await;
    sent.map(|_| ()).map_err(|_| {
        Failure::Unreachable(format!(
            "{endpoint} answers, but not as DynamoDB: the port is taken; choose another with --port"
        ))
        .into()
    })
}

fn stop(dirs: &Dirs, global: &Global) -> Result<()> {
    let mut lines = Vec::new();
    for table in dirs.handler_tables() {
        if let Some(pid) = follow::stop(dirs, &table) {
            lines.push(format!("handler for {table} stopped (pid {pid})"));
        }
    }
    lines.push(match server::stop(dirs)? {
        Stopped::NotRunning => "DynamoDB Local was not running (not started by ddb)".into(),
        Stopped::External(i) => format!(
            "DynamoDB Local on port {} was not started by ddb: left running",
            i.port
        ),
        Stopped::Stopped { instance, killed } => format!(
            "DynamoDB Local on port {} stopped{}",
            instance.port,
            if killed {
                " (killed: it did not end in 10 s)"
            } else {
                ""
            }
        ),
    });
    if global.style.is_json() {
        return output::print_json(global.style.format, &json!({ "stopped": lines }));
    }
    output::line(lines.join("\n"))
}

fn status(dirs: &Dirs, port: u16, global: &Global) -> Result<()> {
    let instance = Instance::running(dirs);
    let port = instance.as_ref().map_or(port, |i| i.port);
    let answering = process::answers_http(port);
    let handlers: Vec<Follower> = dirs
        .handler_tables()
        .iter()
        .filter_map(|t| Follower::read(dirs, t))
        .collect();
    if global.style.is_json() {
        let hs: Vec<_> = handlers
            .iter()
            .map(|f| json!({"running": process::alive(f.pid), "handler": f}))
            .collect();
        output::print_json(
            global.style.format,
            &json!({"endpoint": format!("http://localhost:{port}"), "answering": answering,
                    "started_by_ddb": instance.as_ref().is_some_and(|i| !i.external),
                    "instance": instance, "handlers": hs}),
        )?;
    } else {
        let mut lines = vec![match (&instance, answering) {
            (Some(i), true) => {
                let how = match (&i.pid, &i.container, &i.data) {
                    (Some(pid), _, Some(d)) => format!("pid {pid})\n  tables in {}", tilde(d)),
                    (Some(pid), _, None) => format!("pid {pid}, tables in memory)"),
                    (None, Some(c), _) => format!("Docker container {c})"),
                    (None, None, _) => "not started by ddb)".into(),
                };
                format!("DynamoDB Local: running on http://localhost:{port} ({how}")
            }
            (Some(i), false) => format!(
                "DynamoDB Local: started by ddb on port {} but not answering (yet?)",
                i.port
            ),
            (None, true) => format!(
                "DynamoDB Local: something answers on http://localhost:{port} (not started by ddb)"
            ),
            (None, false) => {
                format!("DynamoDB Local: not running on port {port} (start it: ddb local start)")
            }
        }];
        if handlers.is_empty() {
            lines.push("handler: none (start one: ddb local handler)".into());
        }
        for f in &handlers {
            lines.extend(handler_lines(f));
        }
        output::line(lines.join("\n"))?;
    }
    if answering {
        Ok(())
    } else {
        Err(Failure::Unreachable(format!("DynamoDB Local does not answer on port {port}")).into())
    }
}

/// Where a handler stands, in two lines for people.
fn handler_lines(f: &Follower) -> Vec<String> {
    let table = terminal_safe(&f.table);
    if !process::alive(f.pid) {
        let when = f
            .updated_at
            .get(..19)
            .unwrap_or(&f.updated_at)
            .replace('T', " ");
        return vec![format!(
            "handler for {table}: not running (last seen {when} UTC; ddb local logs)"
        )];
    }
    let how_far = match (&*f.state, caught_up_ago(f)) {
        ("following", Some(ago)) => format!("caught up {ago} ago"),
        ("following", None) => "reading the stream".into(),
        (state, _) => terminal_safe(state).into_owned(),
    };
    vec![
        format!("handler for {table}: {how_far} (pid {})", f.pid),
        format!(
            "  {} handled: {} moved {}, {} failed",
            crate::term::plural(f.records, "record"),
            crate::term::plural(f.messages, "message"),
            crate::term::plural(f.rows, "row"),
            f.failed
        ),
    ]
}

fn caught_up_ago(f: &Follower) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(f.caught_up_at.as_deref()?).ok()?;
    let secs =
        (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1000.0;
    Some(format!("{:.1} s", secs.max(0.0)))
}

/// The endpoint a background handler follows: `--endpoint-url` if given (loopback only), else
/// where `--local` points.
fn handler_endpoint(target: &TargetOptions) -> Result<String> {
    let local = TargetOptions {
        local: target.endpoint_url.is_none(),
        ..target.clone()
    };
    let endpoint = client::resolve_endpoint(&local, |k| std::env::var(k).ok())?
        .unwrap_or_else(|| client::DEFAULT_LOCAL_ENDPOINT.to_string());
    if !client::is_loopback(&endpoint) {
        return Err(Failure::Usage(format!(
            "ddb local handler follows DynamoDB Local only, not {endpoint}; on AWS the Lambda \
             does this (docs/deploying.md)"
        ))
        .into());
    }
    Ok(endpoint)
}

fn background_handler(dirs: &Dirs, endpoint: &str, global: &Global) -> Result<()> {
    let (f, new) = follow::start_background(dirs, endpoint, &global.table)?;
    if global.style.is_json() {
        return output::print_json(global.style.format, &f);
    }
    let verb = if new { "started" } else { "already running" };
    output::line(format!(
        "handler for table {} {verb} (pid {}), following {endpoint}\n\
         `ddb local status` shows how far it is, `ddb local logs` what it did",
        f.table, f.pid
    ))
}

async fn foreground(dirs: &Dirs, global: &Global, run: &Run) -> Result<()> {
    let mut global = global.clone();
    global.target.local = global.target.endpoint_url.is_none();
    let endpoint = handler_endpoint(&global.target)?;
    global.target.local = false;
    global.target.endpoint_url = Some(endpoint);
    let mut ctx = Ctx::build(&global, run).await?;
    // A stopped DynamoDB Local should not hold the loop for the whole retry budget.
    ctx.db.backoff.max_attempts = ctx.db.backoff.max_attempts.min(3);
    crate::aws::interrupt::watch_terminate(ctx.db.cancel.clone());
    follow::run(&ctx.db, dirs).await
}

async fn logs(
    a: &LogsArgs,
    dirs: &Dirs,
    global: &Global,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<()> {
    if a.dynamodb {
        if let Some(container) = Instance::running(dirs).and_then(|i| i.container) {
            let mut cmd = std::process::Command::new("docker");
            cmd.args(["logs", "--tail", &a.lines.to_string()]);
            if a.follow {
                cmd.arg("-f");
            }
            cmd.arg(container).status().context("running docker logs")?;
            return Ok(());
        }
    }
    let path = if a.dynamodb {
        dirs.instance_log()
    } else {
        dirs.handler_file(&global.table, "log")
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        let what = if a.dynamodb {
            "DynamoDB Local has no log yet (ddb local start)".to_string()
        } else {
            format!(
                "no handler log for table {} yet (ddb local handler starts one)",
                global.table
            )
        };
        return output::line(what);
    };
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(a.lines)..] {
        output::line(terminal_safe(line))?;
    }
    if a.follow {
        follow_file(&path, text.len() as u64, cancel).await?;
    }
    Ok(())
}

/// Print what is appended to `path` from `offset` on, until Ctrl-C.
async fn follow_file(
    path: &Path,
    mut offset: u64,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<()> {
    let mut partial = String::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = cancel.cancelled() => return Ok(()),
        }
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len < offset {
            offset = 0; // rotated or restarted
        }
        file.seek(SeekFrom::Start(offset))?;
        let mut more = String::new();
        offset += file.read_to_string(&mut more)? as u64;
        partial.push_str(&more);
        while let Some(i) = partial.find('\n') {
            output::line(terminal_safe(&partial[..i]))?;
            partial.drain(..=i);
        }
        if output::stdout_closed() {
            return Ok(());
        }
    }
}
