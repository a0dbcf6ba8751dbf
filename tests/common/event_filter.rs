//! Lambda's event filtering, written here from the Lambda developer guide ("Control which events
//! Lambda sends to your function" and "Using event filtering with a DynamoDB event source"),
//! never from ddb's code:
//! - an event source mapping has up to five filters, ORed: a record that satisfies one is sent
//!   to the function, a record that satisfies none is discarded;
//! - a filter's `Pattern` is a JSON object in the shape of the record: every key of the pattern
//!   must be matched (AND); a nested object descends into the record's object of that key; a
//!   leaf is a list of rules, ORed; a record's field that is a list matches if one element does;
//!   a field the record lacks matches nothing but `{"exists": false}`;
//! - rules: a string, number or null (equal), `prefix`, `suffix`, `equals-ignore-case`,
//!   `anything-but` (a value, a list, or a `prefix`), `numeric` (up to two comparisons), `exists`;
//! - DynamoDB event source mappings filter on the record's `dynamodb` key only.

use serde_json::Value;

/// Lambda's default quota of filters per event source mapping.
pub const MAX_FILTERS: usize = 5;

/// The patterns of a `FilterCriteria` (each `Pattern` is a JSON string).
pub fn patterns(criteria: &Value) -> Vec<Value> {
    let filters = criteria["Filters"].as_array().expect("Filters");
    assert!(
        (1..=MAX_FILTERS).contains(&filters.len()),
        "{} filters",
        filters.len()
    );
    filters
        .iter()
        .map(|f| {
            let text = f["Pattern"].as_str().expect("Pattern is a string");
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("Pattern is not JSON ({e}): {text}"))
        })
        .collect()
}

/// Does Lambda send `record` to the function, under `criteria`?
pub fn passes(criteria: &Value, record: &Value) -> bool {
    patterns(criteria).iter().any(|p| matches(p, Some(record)))
}

/// An object pattern against a record's value (None: the record lacks it).
pub fn matches(pattern: &Value, value: Option<&Value>) -> bool {
    match pattern {
        Value::Object(keys) => keys.iter().all(|(key, sub)| {
            let field = value.and_then(|v| v.get(key));
            match sub {
                Value::Object(_) => matches(sub, field),
                Value::Array(rules) => leaf(rules, field),
                other => panic!("a pattern's leaf must be a list of rules, got {other}"),
            }
        }),
        other => panic!("a pattern must be an object, got {other}"),
    }
}

fn leaf(rules: &[Value], field: Option<&Value>) -> bool {
    match field {
        None => rules
            .iter()
            .any(|r| r.get("exists") == Some(&Value::Bool(false))),
        Some(Value::Array(items)) => items.iter().any(|v| rules.iter().any(|r| rule(r, v))),
        Some(v) => rules.iter().any(|r| rule(r, v)),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn equal(want: &Value, v: &Value) -> bool {
    match (number(want), number(v)) {
        (Some(a), Some(b)) => a == b,
        _ => want == v,
    }
}

fn rule(r: &Value, v: &Value) -> bool {
    let text = v.as_str();
    let Value::Object(op) = r else {
        return equal(r, v);
    };
    let (name, arg) = op.iter().next().expect("a rule");
    assert_eq!(op.len(), 1, "one operator per rule: {r}");
    match name.as_str() {
        "prefix" => text.is_some_and(|t| t.starts_with(arg.as_str().expect("prefix"))),
        "suffix" => text.is_some_and(|t| t.ends_with(arg.as_str().expect("suffix"))),
        "equals-ignore-case" => {
            let want = arg.as_str().expect("equals-ignore-case");
            text.is_some_and(|t| t.to_lowercase() == want.to_lowercase())
        }
        "anything-but" => match arg {
            Value::Array(values) => !values.iter().any(|x| equal(x, v)),
            Value::Object(_) => !rule(arg, v),
            one => !equal(one, v),
        },
        "numeric" => {
            let parts = arg.as_array().expect("numeric");
            let Some(x) = number(v) else {
                return false;
            };
            parts.chunks(2).all(|c| {
                let bound = number(&c[1]).expect("a numeric bound");
                match c[0].as_str().expect("an operator") {
                    "<" => x < bound,
                    "<=" => x <= bound,
                    "=" => x == bound,
                    ">" => x > bound,
                    ">=" => x >= bound,
                    other => panic!("numeric operator {other}"),
                }
            })
        }
        "exists" => arg.as_bool().expect("exists"),
        other => panic!("no rule {other} written here"),
    }
}
