//! Expressions as people type them (`handle = :h AND size(message) > :n`) turned into what
//! DynamoDB accepts: every attribute name becomes a `#` placeholder, so reserved words
//! (`size`, `name`, `status`, …) and odd characters never get in the way. Pure; unit-tested.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use crate::errors::Failure;

/// Functions of DynamoDB's condition/filter grammar: an identifier followed by `(` is one of
/// these, never an attribute.
const FUNCTIONS: &[&str] = &[
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
];

/// Operators spelled as words (case-insensitive in DynamoDB).
const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];

/// `#placeholder -> attribute name`, shared by the key condition, the filter and the projection
/// of one request, so one attribute always gets one placeholder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    map: BTreeMap<String, String>,
}

impl Names {
    /// The placeholder for `name`: `#` plus the name (characters a placeholder cannot hold
    /// become `_`), with a numeric suffix if two names would collide.
    pub fn placeholder(&mut self, name: &str) -> String {
        if let Some((p, _)) = self.map.iter().find(|(_, n)| n.as_str() == name) {
            return p.clone();
        }
        let base: String = std::iter::once('#')
            .chain(name.chars().map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            }))
            .collect();
        let mut candidate = base.clone();
        let mut n = 2;
        while self.map.contains_key(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.map.insert(candidate.clone(), name.to_string());
        candidate
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn map(&self) -> &BTreeMap<String, String> {
        &self.map
    }
}

/// An expression with its names replaced, and the `:value` references it makes.
#[derive(Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub text: String,
    pub values: BTreeSet<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Rewrite a filter, condition or projection expression: bare names and `#name` both become
/// the placeholder of `name` (a path `a.b[0]` is two names and an index); functions, the
/// word operators and `:value` references stay as written. `what` names the option in errors.
pub fn rewrite(expr: &str, names: &mut Names, what: &str) -> Result<Rewritten> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut values = BTreeSet::new();
    let mut i = 0;
    let word = |start: usize| -> usize {
        let mut end = start;
        while end < chars.len() && is_name_char(chars[end]) {
            end += 1;
        }
        end
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ':' | '#' => {
                let end = word(i + 1);
                if end == i + 1 {
                    bail!(
                        "{what}: '{c}' at character {} is not followed by a name",
                        i + 1
                    );
                }
                let ident: String = chars[i + 1..end].iter().collect();
                if c == ':' {
                    out.push(':');
                    out.push_str(&ident);
                    values.insert(format!(":{ident}"));
                } else {
                    out.push_str(&names.placeholder(&ident));
                }
                i = end;
            }
            '0'..='9' => {
                // Only list indexes (`a[0]`) have digits outside names.
                let end = word(i);
                out.extend(&chars[i..end]);
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = word(i);
                let ident: String = chars[i..end].iter().collect();
                let next = chars[end..].iter().find(|c| !c.is_whitespace());
                if next == Some(&'(') && FUNCTIONS.contains(&ident.as_str()) {
                    out.push_str(&ident);
                } else if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&ident)) {
                    out.push_str(&ident.to_ascii_uppercase());
                } else {
                    out.push_str(&names.placeholder(&ident));
                }
                i = end;
            }
            '\'' | '"' => bail!(
                "{what}: expressions have no quoted literals (character {}); put the value in --values, e.g. --values '{{\":h\": \"bayko\"}}' and write :h",
                i + 1
            ),
            c if c.is_whitespace() || "=<>!(),.[]".contains(c) => {
                out.push(c);
                i += 1;
            }
            other => bail!(
                "{what}: unexpected character '{other}' at character {}",
                i + 1
            ),
        }
    }
    if out.trim().is_empty() {
        bail!("{what}: the expression is empty");
    }
    Ok(Rewritten { text: out, values })
}

/// `--select a,b.c` as a projection expression with placeholders.
pub fn select(select: Option<&str>, names: &mut Names) -> Result<Option<String>> {
    let Some(text) = select else {
        return Ok(None);
    };
    let rewritten =
        rewrite(text, names, "--select").map_err(|e| Failure::Usage(format!("{e:#}")))?;
    if let Some(v) = rewritten.values.first() {
        return Err(Failure::Usage(format!(
            "--select: {v} is a value; list attribute names, e.g. --select sk,message"
        ))
        .into());
    }
    Ok(Some(rewritten.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_placeholders_and_functions_stay() {
        let mut names = Names::default();
        let r = rewrite(
            "user_handle = :h and size(message) > :n OR attribute_exists(#status)",
            &mut names,
            "--filter",
        )
        .unwrap();
        assert_eq!(
            r.text,
            "#user_handle = :h AND size(#message) > :n OR attribute_exists(#status)"
        );
        assert_eq!(
            r.values,
            BTreeSet::from([":h".to_string(), ":n".to_string()])
        );
        assert_eq!(names.map()["#status"], "status");
        assert_eq!(names.map().len(), 3);
    }

    #[test]
    fn paths_reserved_words_and_odd_names() {
        let mut names = Names::default();
        let r = rewrite("a.size[2].name, user-handle, size", &mut names, "--select").unwrap();
        assert_eq!(r.text, "#a.#size[2].#name, #user_handle, #size");
        assert!(r.values.is_empty());
        assert_eq!(names.map()["#user_handle"], "user-handle");
        // The same name keeps its placeholder; a colliding one gets a suffix.
        assert_eq!(names.placeholder("size"), "#size");
        assert_eq!(names.placeholder("user_handle"), "#user_handle_2");
    }

    #[test]
    fn bad_expressions_say_where() {
        let mut names = Names::default();
        let e = rewrite("handle = 'bayko'", &mut names, "--filter").unwrap_err();
        assert!(e.to_string().contains("character 10"), "{e}");
        let e = rewrite("a = : ", &mut names, "--filter").unwrap_err();
        assert!(
            e.to_string().starts_with("--filter: ':' at character 5"),
            "{e}"
        );
        assert!(rewrite("  ", &mut names, "--select").is_err());
        assert!(rewrite("a + :b", &mut names, "--filter").is_err());
    }
}
