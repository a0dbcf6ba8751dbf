//! Output for people and programs: the output style (format, colour, terminal width), stdout
//! and stderr writers, the one function that makes text safe for a terminal, and a small YAML
//! writer. Knows nothing of tables or items.
//!
//! May import: `errors` only.

pub mod fit;
pub mod help;
pub mod output;
pub mod safe;
pub mod yaml;

/// `1 row`, `2 rows`, `0 rows`: a count and its noun, plural when it is not one.
pub fn plural(n: u64, noun: &str) -> String {
    plural_of(n, noun, &format!("{noun}s"))
}

/// A count and its noun, for nouns whose plural is not `+s` (`1 entry`, `2 entries`).
pub fn plural_of(n: u64, one: &str, many: &str) -> String {
    let noun = if n == 1 { one } else { many };
    format!("{n} {noun}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(super::plural(1, "item"), "1 item");
        assert_eq!(super::plural(0, "item"), "0 items");
        assert_eq!(super::plural(2, "page"), "2 pages");
        assert_eq!(super::plural_of(3, "entry", "entries"), "3 entries");
    }
}
