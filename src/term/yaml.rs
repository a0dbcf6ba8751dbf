//! A small YAML writer for JSON values (block style), enough for CloudFormation templates:
//! intrinsic functions are written in their long form (`Fn::GetAtt:`, `Ref:`), so no tags are
//! needed. Strings that YAML could read as something else are written double-quoted, in JSON's
//! escaping, which YAML's double-quoted scalars accept.

use serde_json::Value;

pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_list(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in map.iter().enumerate() {
        // The first key of a map inside a list sits on the list's "- " line.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(k));
        out.push(':');
        write_value(out, v, indent);
    }
}

fn write_list(out: &mut String, list: &[Value], indent: usize) {
    for (i, v) in list.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2),
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_list(out, a, indent + 2)
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// After "key:": a scalar on the same line, a collection on the lines below.
fn write_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_list(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A plain scalar when it can only be read back as this string, else double-quoted.
fn string(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:#*$ ".contains(c))
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && !s.ends_with(' ')
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        Value::String(s.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml() {
        let v = json!({
            "A": "plain/value:1",
            "B": ["x", {"K": 1, "L": [true, null]}],
            "C": {"Fn::GetAtt": ["T", "Arn"]},
            "D": "yes",
            "E": "",
            "F": "${X.Arn}/index/*",
            "G": [],
            "H": "{\"a\": [1]}",
        });
        let want = "\
A: plain/value:1
B:
  - x
  - K: 1
    L:
      - true
      - null
C:
  Fn::GetAtt:
    - T
    - Arn
D: \"yes\"
E: \"\"
F: \"${X.Arn}/index/*\"
G: []
H: \"{\\\"a\\\": [1]}\"
";
        assert_eq!(to_string(&v), want);
    }
}
