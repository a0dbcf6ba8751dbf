//! Items shown to people by the ad hoc read commands (`get-item`): one record as an
//! attribute/value table, every value made safe for a terminal first.

use aws_sdk_dynamodb::types::AttributeValue;
use comfy_table::Table;

use crate::item::{to_plain, Item};
use crate::output::Style;

/// Text from the table made safe to print on a terminal: control characters (escape
/// sequences, carriage returns, C1 controls) and bidirectional overrides are shown as `\u{..}`
/// instead of acting on the terminal. The one place this module sends table text through;
/// swap for the shared function when it lands.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
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
        table.add_row([terminal_safe(name), terminal_safe(&value)]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(terminal_safe("plain héllo"), "plain héllo");
        assert_eq!(terminal_safe("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(terminal_safe("x\ry\u{202E}z"), "x\\u{d}y\\u{202e}z");
        assert_eq!(terminal_safe("two\nlines"), "two\nlines");
    }
}
