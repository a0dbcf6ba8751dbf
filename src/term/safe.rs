//! The one function that makes text from the table (or from anyone else) safe to print on a
//! terminal. A message is data typed by another user: written raw, `ESC ] 0 ; … BEL` retitles
//! the reader's terminal and `ESC [ 2 J` clears it. Everything meant for people goes through
//! [`terminal_safe`]; `-o json` / `ndjson` stay exact JSON (serde escapes controls itself).

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character a terminal could act on made visible:
///
/// - C0 controls (U+0000–U+001F): `\t`, `\n`, `\r`, `\e` (ESC) by name, the rest as `\u{7}` …;
/// - DEL (U+007F) and the C1 controls (U+0080–U+009F, e.g. the one-byte CSI U+009B) as `\u{9b}`;
/// - Unicode bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), which
///   reorder what is shown ("Trojan Source"), and the line/paragraph separators U+2028/U+2029.
///
/// Other text, backslashes included, is unchanged, so a message reads as it was typed; the
/// exact text is what `-o json` is for. Returns the input itself when nothing needs escaping.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Multi-line text (a chat message) made safe line by line: its own line breaks stay line
/// breaks, everything else is escaped as by [`terminal_safe`].
pub fn terminal_safe_lines(text: &str) -> Vec<Cow<'_, str>> {
    text.split('\n').map(terminal_safe).collect()
}

fn needs_escape(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// One terminal-safe line of at most `max` characters: line breaks and tabs become spaces,
/// other control characters are made visible (`terminal_safe`), and a cut ends in `…`.
pub fn truncate(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let flat = terminal_safe(&flat).into_owned();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_c0_and_c1_control_and_del_is_made_visible() {
        let controls = (0u32..0x20).chain([0x7f]).chain(0x80..0xa0);
        let mut seen = 0;
        for code in controls {
            let c = char::from_u32(code).unwrap();
            let shown = terminal_safe(&format!("a{c}b")).into_owned();
            assert!(
                !shown.chars().any(|x| x.is_control()),
                "U+{code:04X} left a control character in {shown:?}"
            );
            assert!(
                shown.starts_with("a\\") && shown.ends_with('b'),
                "{shown:?}"
            );
            let expected = match code {
                0x09 => "a\\tb".to_string(),
                0x0a => "a\\nb".to_string(),
                0x0d => "a\\rb".to_string(),
                0x1b => "a\\eb".to_string(),
                _ => format!("a\\u{{{code:x}}}b"),
            };
            assert_eq!(shown, expected);
            seen += 1;
        }
        assert_eq!(seen, 32 + 1 + 32);
    }

    #[test]
    fn the_title_and_clear_screen_attack_is_inert() {
        let attack = "hi \u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";
        assert_eq!(
            terminal_safe(attack),
            "hi \\e]0;pwned\\u{7}\\e[2J\\u{9b}31m"
        );
    }

    #[test]
    fn bidi_controls_and_separators_are_escaped() {
        assert_eq!(
            terminal_safe("a\u{202e}b\u{2066}c\u{200f}d\u{2028}e"),
            "a\\u{202e}b\\u{2066}c\\u{200f}d\\u{2028}e"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["", "héllo wörld 👋", "C:\\temp \\e", "日本語 emoji ✓"] {
            assert!(matches!(terminal_safe(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn lines_keep_their_breaks_and_escape_the_rest() {
        assert_eq!(
            terminal_safe_lines("one\ntwo\u{1b}[1m\r"),
            vec!["one", "two\\e[1m\\r"]
        );
    }

    #[test]
    fn truncate_counts_characters_and_flattens_lines() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a\nb", 10), "a b");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("a\u{1b}[2Jb", 20), "a\\e[2Jb");
    }
}
