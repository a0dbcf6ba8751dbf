//! A row carrying a message's text, pure: the whole text when the row fits DynamoDB's 400 KB
//! item limit beside its other attributes (the conversation's uuid, the other participant's
//! names), else the longest prefix that fits and the `TRUNCATED` marker. So a message of any
//! size another client wrote can never make a row fail to write, and put-message can tell
//! beforehand that a message would only be carried as a preview (`whole_row_size`).

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::item::{item_size, Item, MAX_ITEM_BYTES};

/// The message a conversation's rows should carry: its sort key and its whole text (a row
/// carries the text, or as much of it as fits: `carrying`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub sk: String,
    pub message: String,
}

/// The marker attribute of a row whose `message` is a truncated preview: the message's text
/// did not fit in DynamoDB's item limit beside the row's other attributes (a message another
/// client wrote; put-message refuses such messages). BOOL true when present.
pub const TRUNCATED: &str = "message_truncated";

/// `base` (a row, or the template of one) carrying `target`: its sk and its text. When the
/// whole text would take the row past DynamoDB's 400 KB item limit, the row carries the
/// longest prefix that fits (cut at a character boundary) and `TRUNCATED: true`, so a message
/// of any size can never make the row fail to write.
pub fn carrying(base: &Item, target: &Target) -> Item {
    let mut row = base.clone();
    row.insert("sk".into(), AttributeValue::S(target.sk.clone()));
    row.remove("message");
    row.remove(TRUNCATED);
    let room = MAX_ITEM_BYTES.saturating_sub(item_size(&row) + "message".len());
    let text = &target.message;
    if text.len() <= room {
        row.insert("message".into(), AttributeValue::S(text.clone()));
        return row;
    }
    // The marker's name and its one-byte value take room too.
    let mut cut = room.saturating_sub(TRUNCATED.len() + 1);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    row.insert("message".into(), AttributeValue::S(text[..cut].to_string()));
    row.insert(TRUNCATED.into(), AttributeValue::Bool(true));
    row
}

/// The size `base` would have carrying `target`'s whole text (what `carrying` cuts down when it
/// is over the item limit); put-message refuses a message whose rows would not fit.
pub fn whole_row_size(base: &Item, target: &Target) -> usize {
    let mut row = base.clone();
    row.insert("sk".into(), AttributeValue::S(target.sk.clone()));
    row.insert("message".into(), AttributeValue::S(target.message.clone()));
    row.remove(TRUNCATED);
    item_size(&row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::get_s;

    /// A GRP# row at T1 showing "one" (the other participant's names included).
    fn row() -> Item {
        let s = |v: &str| AttributeValue::S(v.into());
        Item::from([
            ("pk".into(), s("GRP#a")),
            ("sk".into(), s("2026-01-01T00:00:01.000000+00:00")),
            ("message_group_uuid".into(), s("g")),
            ("message".into(), s("one")),
            ("user_uuid".into(), s("other")),
            ("user_display_name".into(), s("Other")),
            ("user_handle".into(), s("other")),
        ])
    }

    fn target(message: &str) -> Target {
        Target {
            sk: "2026-01-01T00:00:02.000000+00:00".into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_message_too_big_for_a_row_is_carried_as_a_marked_preview() {
        let base = row();
        // Exactly what fits: every byte of the row counted as DynamoDB counts it (names and
        // UTF-8 values), so this row is 409,600 bytes with the whole text.
        let others = item_size(&base) - "one".len();
        let fits = "x".repeat(MAX_ITEM_BYTES - others);
        let whole = carrying(&base, &target(&fits));
        assert_eq!(item_size(&whole), MAX_ITEM_BYTES);
        assert_eq!(get_s(&whole, "message"), Some(fits.as_str()));
        assert_eq!(whole.get(TRUNCATED), None);
        // One byte more (and a multi-byte character at the cut): a prefix, marked, that fits.
        let over = format!(
            "{}é{}",
            "x".repeat(MAX_ITEM_BYTES - others - 19),
            "y".repeat(40)
        );
        let preview = carrying(&base, &target(&over));
        let text = get_s(&preview, "message").unwrap();
        assert!(over.starts_with(text) && text.len() < over.len());
        assert_eq!(preview.get(TRUNCATED), Some(&AttributeValue::Bool(true)));
        assert!(item_size(&preview) <= MAX_ITEM_BYTES);
        assert!(item_size(&preview) > MAX_ITEM_BYTES - 4, "as much as fits");
        // The marker goes when a later message fits again.
        assert_eq!(carrying(&preview, &target("short")).get(TRUNCATED), None);
        // What a row would be with the whole text: put-message refuses over the limit.
        assert_eq!(whole_row_size(&base, &target(&over)), MAX_ITEM_BYTES + 23);
    }
}
