//! How help reads at 80 columns: a command's `-h` lists its own options and examples and
//! points to `ddb -h` for the global options, which `ddb -h` lists, generated from their
//! definitions (clap's tree in, the same tree with its help texts arranged out).

/// The command tree as people see it: a command's own `-h` lists its options and examples and
/// points to `ddb -h` for the global ones; `ddb -h` lists those, generated from their
/// definitions; `--help` everywhere shows everything.
pub fn shaped(cmd: clap::Command) -> clap::Command {
    let mut section = String::from("Global options (every command; ddb --help says more):\n");
    for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
        let mut flags = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            (None, Some(l)) => format!("    --{l}"),
            _ => continue,
        };
        let takes_value = arg.get_action().takes_values();
        if let Some(value) = arg.get_value_names().and_then(|v| v.first()) {
            if takes_value {
                flags.push_str(&format!(" <{value}>"));
            }
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        section.push_str(&format!("  {flags:<24}  {help}\n"));
    }
    let examples = cmd
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    let top = format!("{section}\n{examples}");
    cmd.after_help(top.clone())
        .after_long_help(examples)
        .mut_args(|a| {
            if a.is_global_set() {
                a.hide_short_help(true)
            } else {
                a
            }
        })
        .mut_subcommands(point_to_globals)
}

/// A command's `-h`: its own options and examples, and where the global ones are.
fn point_to_globals(sub: clap::Command) -> clap::Command {
    let examples = sub
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    let pointer = "Global options (--local, --table, -o json, -v, …): ddb -h";
    let short = if examples.is_empty() {
        pointer.to_string()
    } else {
        format!("{examples}\n\n{pointer}")
    };
    sub.after_help(short)
        .after_long_help(examples)
        .mut_subcommands(point_to_globals)
}
