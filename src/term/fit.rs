//! Fitting a table of text to a terminal's width, for the item tables of `scan`, `query`,
//! `sql` and `get-item`: one column per attribute, the key columns first and never cut (they
//! are what a person copies), the widest other column last. When the row is too wide, that
//! last column is cut (ending in `…`) down to a few characters, then the widest of the rest;
//! if even that is too wide, the key columns share one column (the sort key under the
//! partition key), and the columns before the last are left out, from the right, and named.
//! Pure: text in, text out.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::term::safe;

/// Borders and padding: 3 per column plus 1 (`│ a ┆ b │`).
pub fn overhead(columns: usize) -> usize {
    3 * columns + 1
}

/// A non-key column is not cut below this many characters (or its header's width)...
const MIN: usize = 8;
/// ...and the last (the widest) not below this many before the others are cut.
const LAST_MIN: usize = 24;
/// Off a terminal (a pipe), no value is longer than this.
pub const PIPE_MAX: usize = 100;

/// A table ready to print: headers and rows cut to fit, the columns that did not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The key columns were stacked into the first column (two lines per row).
    pub stacked: bool,
    pub left_out: Vec<String>,
}

/// Fit `rows` (cells already terminal-safe, one line each) under `headers` into `width`
/// characters (`None`: a pipe, no limit but `PIPE_MAX` per value). The first `keys` columns
/// are keys.
pub fn fit(headers: &[String], rows: &[Vec<String>], keys: usize, width: Option<usize>) -> Fitted {
    let Some(width) = width else {
        let rows = rows
            .iter()
            .map(|r| r.iter().map(|c| safe::truncate(c, PIPE_MAX)).collect())
            .collect();
        return Fitted {
            headers: headers.to_vec(),
            rows,
            stacked: false,
            left_out: Vec::new(),
        };
    };
    let natural: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| chars(&r[i]))
                .chain([chars(&headers[i])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut headers = headers.to_vec();
    let mut rows: Vec<Vec<String>> = rows.to_vec();
    let mut widths = natural;
    // The widest non-key column goes last: it takes what is left, the others stay whole.
    let fits = widths.iter().sum::<usize>() + overhead(widths.len()) <= width;
    if fits {
        return Fitted {
            headers,
            rows,
            stacked: false,
            left_out: Vec::new(),
        };
    }
    if let Some(widest) = (keys..widths.len()).max_by_key(|&i| (widths[i], std::cmp::Reverse(i))) {
        let last = widths.len() - 1;
        if widest != last {
            let w = widths.remove(widest);
            widths.push(w);
            let h = headers.remove(widest);
            headers.push(h);
            for r in &mut rows {
                let c = r.remove(widest);
                r.push(c);
            }
        }
    }
    let mut keys = keys;
    let mut stacked = false;
    // The narrowest a row may get before columns are left out: keys whole, the last column
    // (the widest) at `LAST_MIN`, the others at their minimum.
    let floor = |w: &[usize], h: &[String], keys: usize| -> usize {
        let last = w.len() - 1;
        w.iter()
            .enumerate()
            .map(|(i, &n)| match i {
                i if i < keys => n,
                i if i == last => n.min(LAST_MIN.max(least(&h[i]))),
                i => n.min(least(&h[i])),
            })
            .sum::<usize>()
            + overhead(w.len())
    };
    // Two key columns that leave no room for the rest share one column.
    if keys == 2 && headers.len() > 2 && floor(&widths, &headers, keys) > width {
        headers[0] = format!("{} / {}", headers[0], headers[1]);
        headers.remove(1);
        for r in &mut rows {
            let sk = r.remove(1);
            r[0] = format!("{}\n{sk}", r[0]);
        }
        let w = widths.remove(1);
        widths[0] = widths[0].max(w).max(chars(&headers[0]));
        keys = 1;
        stacked = true;
    }
    // Leave out the columns before the last, from the right, while even their minimum does
    // not fit.
    let mut left_out = Vec::new();
    while headers.len() > keys + 1 && floor(&widths, &headers, keys) > width {
        let i = headers.len() - 2;
        left_out.insert(0, headers.remove(i));
        widths.remove(i);
        for r in &mut rows {
            r.remove(i);
        }
    }
    // Cut the last column down to `LAST_MIN`, then the widest of the others to their
    // minimum, then the last again, a character at a time, until the row fits.
    let mut total = widths.iter().sum::<usize>() + overhead(widths.len());
    let last = widths.len() - 1;
    while total > width {
        let can = |i: usize, min: usize| (i >= keys && widths[i] > min).then_some(i);
        let cut_next = can(last, LAST_MIN.max(least(&headers[last])))
            .or_else(|| {
                (keys..last)
                    .filter(|&i| widths[i] > least(&headers[i]))
                    .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)))
            })
            .or_else(|| can(last, least(&headers[last])));
        let Some(i) = cut_next else { break };
        widths[i] -= 1;
        total -= 1;
    }
    for r in &mut rows {
        for (i, cell) in r.iter_mut().enumerate().skip(keys) {
            if chars(cell) > widths[i] {
                *cell = cut(cell, widths[i]);
            }
        }
    }
    Fitted {
        headers,
        rows,
        stacked,
        left_out,
    }
}

/// The narrowest a non-key column gets: its header, or `MIN` characters.
fn least(header: &str) -> usize {
    MIN.max(chars(header))
}

/// The display width of the widest line (wide characters and emoji count two).
pub fn chars(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// One line cut to `width` display columns, ending in `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    if UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn width_of(f: &Fitted) -> usize {
        (0..f.headers.len())
            .map(|i| {
                f.rows
                    .iter()
                    .map(|r| chars(&r[i]))
                    .chain([chars(&f.headers[i])])
                    .max()
                    .unwrap()
            })
            .sum::<usize>()
            + overhead(f.headers.len())
    }

    #[test]
    fn the_widest_column_goes_last_and_is_cut_and_keys_never() {
        let headers = strings(&["sk", "message", "user_handle"]);
        let rows = vec![strings(&[
            "2026-12-04T23:28:59.276149+00:00",
            &"x".repeat(70),
            "andrewbrown",
        ])];
        let f = fit(&headers, &rows, 1, Some(80));
        assert_eq!(width_of(&f), 80);
        assert_eq!(f.headers, ["sk", "user_handle", "message"]);
        assert_eq!(f.rows[0][0], rows[0][0]);
        assert_eq!(f.rows[0][1], "andrewbrown");
        assert_eq!(f.rows[0][2].chars().count(), 80 - 32 - 11 - 10);
        assert!(f.rows[0][2].ends_with('…'), "{:?}", f.rows[0][2]);
        assert!(f.left_out.is_empty() && !f.stacked);
        // It fits: nothing changes, not even the order.
        let f = fit(&headers, &rows, 1, Some(200));
        assert_eq!((f.headers, f.rows), (headers, rows));
    }

    #[test]
    fn wide_keys_are_stacked_and_what_cannot_fit_is_named() {
        let headers = strings(&["pk", "sk", "message", "a", "b", "c", "d", "e"]);
        let row = strings(&[
            "MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399",
            "2026-12-04T23:28:59.276149+00:00",
            "hello there, a message of some length",
            "aaaaaaaaaaaa",
            "bbbbbbbbbbbb",
            "cccccccccccc",
            "dddddddddddd",
            "eeeeeeeeeeee",
        ]);
        let f = fit(&headers, std::slice::from_ref(&row), 2, Some(80));
        assert!(f.stacked);
        assert_eq!(f.headers[0], "pk / sk");
        assert_eq!(f.rows[0][0], format!("{}\n{}", row[0], row[1]));
        assert!(width_of(&f) <= 80, "{f:?}");
        assert!(!f.left_out.is_empty());
        assert_eq!(f.headers.len() + f.left_out.len(), 7);
        assert_eq!(
            f.headers.last().unwrap(),
            "message",
            "the widest stays, last"
        );
        assert_eq!(
            f.left_out.last().unwrap(),
            "e",
            "the columns before it go first"
        );
    }

    #[test]
    fn a_pipe_gets_every_column_with_long_values_cut() {
        let headers = strings(&["pk", "message"]);
        let rows = vec![strings(&["p", &"y".repeat(300)])];
        let f = fit(&headers, &rows, 1, None);
        assert_eq!(f.rows[0][1].chars().count(), PIPE_MAX);
    }

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(chars("ab"), 2);
        assert_eq!(chars("日本"), 4);
        assert_eq!(cut("日本語です", 6), "日本…");
        assert_eq!(cut("short", 9), "short");
    }
}
