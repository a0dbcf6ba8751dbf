//! DynamoDB numbers, the one rule every writer and reader of ddb checks them by: decimal
//! notation with an optional exponent, at most 38 significant digits, magnitude 1E-130 to
//! 9.99…E+125 or zero (verified against DynamoDB Local 3.3.0, which answers "Number overflow"
//! for 1E+126 and "underflow" for 1E-131, and the developer guide's "Data types" limits). A
//! number is kept as the text it was written in, end to end; `Canonical` is its value, for
//! comparing keys (`1.0` and `1` are the same key).

/// Significant digits of a DynamoDB number.
pub const MAX_DIGITS: usize = 38;

/// Why text is not a DynamoDB number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadNumber {
    #[error("'{0}' is not a number")]
    Syntax(String),
    #[error("'{number}' has {digits} significant digits; DynamoDB keeps at most {max}", max = MAX_DIGITS)]
    TooManyDigits { number: String, digits: usize },
    /// An exponent no mantissa could bring into range.
    #[error("'{0}' is out of DynamoDB's number range")]
    Overflow(String),
    #[error("'{0}' is out of DynamoDB's number range (1E-130 to 9.9999999999999999999999999999999999999E+125)")]
    OutOfRange(String),
}

impl BadNumber {
    /// What is wrong, without repeating the number (for messages that quote it already).
    pub fn why(&self) -> String {
        match self {
            BadNumber::Syntax(_) => "expected a number like 42, -7.5 or 1e3".to_string(),
            BadNumber::TooManyDigits { digits, .. } => {
                format!("{digits} significant digits; DynamoDB keeps at most {MAX_DIGITS}")
            }
            BadNumber::Overflow(_) | BadNumber::OutOfRange(_) => {
                "out of DynamoDB's number range (1E-130 to 9.99…E+125 in magnitude)".to_string()
            }
        }
    }
}

/// A DynamoDB number by value: sign, significant digits (no leading or trailing zeros) and the
/// power of ten of the first digit. Zero is `digits` empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Canonical {
    pub negative: bool,
    pub digits: String,
    pub exponent: i64,
}

impl std::fmt::Display for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.digits.is_empty() {
            return write!(f, "0");
        }
        let sign = if self.negative { "-" } else { "" };
        write!(f, "{sign}0.{}E{}", self.digits, self.exponent + 1)
    }
}

/// Check a number the way DynamoDB does: decimal notation with an optional exponent, at most
/// 38 significant digits, magnitude between 1E-130 and 9.99…E+125 (or zero).
pub fn check_number(s: &str) -> Result<Canonical, BadNumber> {
    let bad = || BadNumber::Syntax(s.to_string());
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return Err(bad());
    }
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(bad());
            }
            // Beyond this no number can be in range, whatever its mantissa.
            e.parse::<i64>()
                .ok()
                .filter(|e| e.abs() < 1_000_000)
                .ok_or_else(|| BadNumber::Overflow(s.to_string()))?
        }
    };
    let all: String = format!("{int}{frac}");
    let Some(first) = all.bytes().position(|b| b != b'0') else {
        return Ok(Canonical {
            negative: false,
            digits: String::new(),
            exponent: 0,
        });
    };
    let last = all
        .bytes()
        .rposition(|b| b != b'0')
        .expect("a nonzero digit");
    let digits = all[first..=last].to_string();
    if digits.len() > MAX_DIGITS {
        return Err(BadNumber::TooManyDigits {
            number: s.to_string(),
            digits: digits.len(),
        });
    }
    let exponent = int.len() as i64 - 1 - first as i64 + exp;
    if !(-130..=125).contains(&exponent) {
        return Err(BadNumber::OutOfRange(s.to_string()));
    }
    Ok(Canonical {
        negative,
        digits,
        exponent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_dynamodb_limits() {
        // Each accepted and refused the same way by DynamoDB Local 3.3.0 (PutItem).
        for ok in [
            "0",
            "-0.000",
            "12345678901234567890123456789012345678",
            "0.1000000000000000055511151231257827",
            "9.9999999999999999999999999999999999999E+125",
            "-9.9999999999999999999999999999999999999E+125",
            "1E+125",
            "1E-130",
            "-1E-130",
            "1000e-133",
            "1.00000000000000000000000000000000000000000",
            "+5",
            ".5",
            "5.",
            "1e+2",
        ] {
            assert!(check_number(ok).is_ok(), "{ok}: {:?}", check_number(ok));
        }
        for bad in [
            "", "-", ".", "1e", "NaN", "inf", "Infinity", "0x10", "1 ", " 5", "1e1.5", "--1",
        ] {
            assert_eq!(check_number(bad), Err(BadNumber::Syntax(bad.to_string())));
        }
        for out in [
            "1E126",
            "1E+126",
            "1e400",
            "1E-131",
            "1e99999999999999999999",
        ] {
            let e = check_number(out).unwrap_err();
            assert!(e.to_string().contains("out of"), "{out}");
            assert!(e.why().contains("out of DynamoDB's number range"), "{out}");
        }
        let e = check_number("123456789012345678901234567890123456789").unwrap_err();
        assert!(e.to_string().contains("39 significant digits"));
        assert_eq!(e.why(), "39 significant digits; DynamoDB keeps at most 38");
        assert_eq!(check_number("1.50"), check_number("15e-1"));
        assert_eq!(check_number("1.5").unwrap().to_string(), "0.15E1");
        assert_eq!(
            BadNumber::Syntax("x".into()).why(),
            "expected a number like 42, -7.5 or 1e3"
        );
    }
}
