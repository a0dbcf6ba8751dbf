//! Items shown to people by the ad hoc read commands (`get-item`): one record as an
//! attribute/value table, every name and value made safe for a terminal (safe.rs) first.

use aws_sdk_dynamodb::types::AttributeValue;
use comfy_table::Table;

use crate::model::item::{to_plain, Item};
use crate::term::output::Style;
use crate::term::safe::terminal_safe;

/// One item as `attribute | value` rows: the key attributes first (in `keys` order), then the
/// rest by name. Strings are shown as text, everything else as plain JSON.
pub fn record(style: &Style, item: &Item, keys: &[&str]) -> Table {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort_by_key(|n| {
        (
            keys.iter().position(|k| k == n).unwrap_or(keys.len()),
            n.as_str(),
        )
    });
    let mut table = style.table(&["attribute", "value"]);
    for name in names {
        let value = match &item[name] {
            AttributeValue::S(s) => s.clone(),
            other => to_plain(other).to_string(),
        };
        table.add_row([
            terminal_safe(name).into_owned(),
            terminal_safe(&value).into_owned(),
        ]);
    }
    table
}
