//! The layout ARCHITECTURE.md describes, checked against the code: which folder may import
//! which, no command importing another (or `cli`), no import cycle between files, files short
//! enough to read, one page helper, and no errors as bare strings. Reads `src/` as text; the
//! rules are written here by hand, not derived from the code they check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each library folder and what it may import (besides itself). `cmd`, `cli` and `main` sit
/// on top and may import any of them; nothing below imports them.
const ALLOWED: &[(&str, &[&str])] = &[
    ("errors", &[]),
    ("term", &["errors"]),
    ("model", &["term", "errors"]),
    ("aws", &["model", "term", "errors"]),
    ("read", &["aws", "model", "term", "errors"]),
    ("rows", &["aws", "model", "term", "errors"]),
    ("transfer", &["rows", "aws", "model", "term", "errors"]),
    ("stream", &["rows", "aws", "model", "term", "errors"]),
];

const MAX_LINES: usize = 500;
const MAX_TOP_LEVEL: usize = 12;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` -> ["a", "b"]; `src/a/mod.rs` -> ["a"]; `src/cli.rs` -> ["cli"].
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn folder(module: &[String]) -> &str {
    module.first().map_or("", String::as_str)
}

/// The code of a file without its unit tests (they may import anything of their module).
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("read file");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Every `crate::a::b…` path named in `code`, groups (`crate::a::{b, c::d}`) expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        out.extend(expand(rest, Vec::new()));
    }
    out
}

fn expand(text: &str, prefix: Vec<String>) -> Vec<Vec<String>> {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let mut path = prefix;
    path.extend(
        ident
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    let after = &text[ident.len()..];
    if ident.ends_with("::") && after.starts_with('{') {
        let mut depth = 0;
        let mut end = 0;
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &after[1..end];
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&inner[start..]);
        return parts
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "self")
            .flat_map(|p| expand(p, path.clone()))
            .collect();
    }
    vec![path]
}

struct Tree {
    /// module path -> file
    files: BTreeMap<Vec<String>, PathBuf>,
    /// file module -> the file modules it imports
    imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn tree() -> Tree {
    let mut list = Vec::new();
    rust_files(&src(), &mut list);
    let files: BTreeMap<Vec<String>, PathBuf> =
        list.iter().map(|f| (module_path(f), f.clone())).collect();
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| files.contains_key(p))
    };
    let mut imports = BTreeMap::new();
    for (module, file) in &files {
        let code = code_of(file);
        let mut set = BTreeSet::new();
        for path in crate_paths(&code) {
            if let Some(target) = resolve(&path) {
                if &target != module {
                    set.insert(target);
                }
            }
        }
        // `super::x` from a file in a folder names a sibling.
        let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("super::") {
            rest = &rest[i + "super::".len()..];
            for path in expand(rest, parent.clone()) {
                if let Some(target) = resolve(&path) {
                    if &target != module {
                        set.insert(target);
                    }
                }
            }
        }
        imports.insert(module.clone(), set);
    }
    Tree { files, imports }
}

fn name(module: &[String]) -> String {
    module.join("::")
}

#[test]
fn folders_import_only_what_sits_below_them() {
    let tree = tree();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (from, targets) in &tree.imports {
        let Some(may) = allowed.get(folder(from)) else {
            continue;
        };
        for to in targets {
            checked += 1;
            let to_folder = folder(to);
            if to_folder != folder(from) && !may.contains(&to_folder) {
                wrong.push(format!("{} imports {}", name(from), name(to)));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports seen: is the parser broken?"
    );
    assert!(
        wrong.is_empty(),
        "arrows pointing the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn commands_import_library_modules_only() {
    let tree = tree();
    let mut wrong = Vec::new();
    let mut commands = 0;
    for (from, targets) in &tree.imports {
        if folder(from) != "cmd" || from.len() != 2 {
            continue;
        }
        commands += 1;
        for to in targets {
            let other_command = folder(to) == "cmd" && to.len() == 2;
            if other_command || folder(to) == "cli" || folder(to) == "main" {
                wrong.push(format!("{} imports {}", name(from), name(to)));
            }
        }
    }
    assert!(commands >= 18, "found {commands} command files");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_import_cycle_between_files() {
    /// Tarjan's state: next index, (index, lowlink) per visited file, the stack.
    type State = (
        usize,
        BTreeMap<Vec<String>, (usize, usize)>,
        Vec<Vec<String>>,
    );
    let tree = tree();
    // Tarjan's strongly connected components, iteratively simple enough for ~80 files.
    fn visit(
        v: &Vec<String>,
        g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut State,
        onstack: &mut BTreeSet<Vec<String>>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        let index = state.0;
        state.0 += 1;
        state.1.insert(v.clone(), (index, index));
        state.2.push(v.clone());
        onstack.insert(v.clone());
        for w in g.get(v).into_iter().flatten() {
            if !state.1.contains_key(w) {
                visit(w, g, state, onstack, cycles);
                let wl = state.1[w].1;
                let e = state.1.get_mut(v).expect("visited");
                e.1 = e.1.min(wl);
            } else if onstack.contains(w) {
                let wi = state.1[w].0;
                let e = state.1.get_mut(v).expect("visited");
                e.1 = e.1.min(wi);
            }
        }
        let (vi, vl) = state.1[v];
        if vi == vl {
            let mut comp = Vec::new();
            while let Some(w) = state.2.pop() {
                onstack.remove(&w);
                let done = &w == v;
                comp.push(name(&w));
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                cycles.push(comp);
            }
        }
    }
    let mut state = (0, BTreeMap::new(), Vec::new());
    let mut onstack = BTreeSet::new();
    let mut cycles = Vec::new();
    for v in tree.imports.keys() {
        if !state.1.contains_key(v) {
            visit(v, &tree.imports, &mut state, &mut onstack, &mut cycles);
        }
    }
    assert_eq!(state.1.len(), tree.files.len());
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
}

#[test]
fn the_parser_sees_groups_and_cycles() {
    // The checks above are only as good as the path parser: a hand-written case.
    let paths = crate_paths("use crate::aws::{db::Db, classify::{api_error, Subject}, self};\nlet x = crate::model::item::get_s(&i);");
    let names: Vec<String> = paths.iter().map(|p| name(p)).collect();
    assert_eq!(
        names,
        [
            "aws::db::Db",
            "aws::classify::api_error",
            "aws::classify::Subject",
            "model::item::get_s"
        ]
    );
}

#[test]
fn source_files_are_short_and_the_top_level_small() {
    let mut list = Vec::new();
    rust_files(&src(), &mut list);
    let long: Vec<String> = list
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).expect("read").lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
    let top = std::fs::read_dir(src()).expect("src").count();
    assert!(top <= MAX_TOP_LEVEL, "src/ has {top} entries");
}

#[test]
fn errors_are_types_and_cursors_live_in_the_page_helper() {
    let mut list = Vec::new();
    rust_files(&src(), &mut list);
    let mut strings = Vec::new();
    let mut cursors = Vec::new();
    for f in &list {
        let text = std::fs::read_to_string(f).expect("read");
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", f.display(), i + 1);
            // `Result<T, String>` with any T.
            if let Some(p) = line.find("Result<") {
                let rest = &line[p..];
                if let Some(close) = rest.find('>') {
                    if rest[..close].trim_end().ends_with(", String") {
                        strings.push(at.clone());
                    }
                }
            }
            let cursor =
                line.contains("exclusive_start_key") || line.contains("last_evaluated_key");
            if cursor && !f.ends_with("aws/pages.rs") {
                cursors.push(at);
            }
        }
    }
    assert!(
        strings.is_empty(),
        "errors as strings:\n{}",
        strings.join("\n")
    );
    assert!(
        cursors.is_empty(),
        "page cursors outside aws/pages.rs:\n{}",
        cursors.join("\n")
    );
}

#[test]
fn the_handlers_calls_name_their_entry_in_the_catalogue() {
    // The stream handler's code (src/rows/, src/stream/handler.rs): each paged read names its
    // catalogued call (`aws/calls.rs`) in the statement that makes it, and the only operation
    // sent otherwise is the transaction, whose items each carry one (`Role::call`). So the
    // template's role, generated from the catalogue, allows every call the handler can make.
    // rows/seeded.rs and rows/fresh.rs are seed's and import's side of rows (the CLI's): the
    // handler's code must never reach them, which is checked here too.
    let cli_only = ["seeded.rs", "fresh.rs"];
    let mut files = Vec::new();
    rust_files(&src().join("rows"), &mut files);
    files.retain(|f| !cli_only.iter().any(|c| f.ends_with(c)));
    files.push(src().join("stream/handler.rs"));
    let (mut reads, mut sends) = (0, 0);
    let mut wrong = Vec::new();
    for f in &files {
        let code = code_of(f);
        for module in ["seeded", "fresh"] {
            if crate_paths(&code)
                .iter()
                .any(|p| p.iter().any(|seg| seg == module))
                || code.contains(&format!("{module}::"))
            {
                wrong.push(format!(
                    "{}: the handler's code uses rows::{module}, which is seed's and import's only",
                    f.display()
                ));
            }
        }
        for (i, _) in code.match_indices("Pages::new(") {
            reads += 1;
            let statement = &code[i..i + code[i..].find(';').unwrap_or(code.len() - i)];
            if !statement.contains(".for_call(Call::") {
                wrong.push(format!(
                    "{}: a read without its Call (add `.for_call(Call::…)`): {statement}",
                    f.display()
                ));
            }
        }
        for (i, _) in code
            .match_indices(".dynamodb")
            .chain(code.match_indices(".streams"))
        {
            let op: String = code[i..]
                .split('.')
                .nth(2)
                .unwrap_or("")
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            sends += 1;
            let allowed =
                op == "query" || (op == "transact_write_items" && f.ends_with("settle.rs"));
            if !allowed {
                wrong.push(format!(
                    "{}: `{op}` is sent outside the catalogue: declare it in src/aws/calls.rs and name it where it is sent",
                    f.display()
                ));
            }
        }
    }
    // Three reads and a transaction today: seeing fewer means the parser is broken.
    assert!(
        reads >= 3 && sends >= 2,
        "saw {reads} reads, {sends} SDK builders"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
