//! One item shown to people (`get-item`): a row of one column per attribute when it fits the
//! terminal whole, else an attribute/value table; every name and value made safe for a
//! terminal (safe.rs) first.

use aws_sdk_dynamodb::types::AttributeValue;
use comfy_table::Table;

use crate::model::item::{to_plain, Item};
use crate::read::sink;
use crate::term::fit;
use crate::term::output::Style;
use crate::term::safe::terminal_safe;

/// One item for people: one column per attribute (keys first) when that fits the terminal
/// without cutting anything, else `attribute | value` rows (`record`), which never cut.
pub fn item(style: &Style, item: &Item, keys: &[&str], select: Option<&str>) -> Table {
    if style.stdout_tty {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let items = std::slice::from_ref(item);
        let (columns, key_count) = sink::columns(items, &keys, &sink::select_order(select));
        let cells = sink::cells(items, &columns, key_count, false);
        let headers: Vec<String> = columns
            .iter()
            .map(|c| terminal_safe(c).into_owned())
            .collect();
        let fitted = fit::fit(&headers, &cells, key_count, Some(style.width()));
        if fitted.rows == cells && !fitted.stacked && fitted.left_out.is_empty() {
            let names: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut table = style.table(&names);
            table.add_row(cells.into_iter().flatten());
            return table;
        }
    }
    record(style, item, keys)
}

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
