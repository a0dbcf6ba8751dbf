//! Values from the command line (and the environment variables that stand in for options),
//! checked once before any work, as clap value parsers. The rule for bad values (README, "Exit
//! codes"): anything wrong that can be seen from the command line and environment alone is a
//! usage error, exit 2, reported by clap before any file is read or request sent; exit 8 is for
//! the contents of input files (schema, fixture, event, checkpoint, message file) and for values
//! that name something those files do not have (an unknown handle).
//!
//! Each parser returns a short reason (`Refused`); clap adds the option's name and the value.

use std::net::Ipv6Addr;

/// Why a value was refused: a short reason, which clap prints after the option's name and the
/// value (and `aws::client` after the environment variable it came from).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl From<&str> for Refused {
    fn from(reason: &str) -> Refused {
        Refused(reason.to_string())
    }
}

impl From<String> for Refused {
    fn from(reason: String) -> Refused {
        Refused(reason)
    }
}

/// A checked value, or why it was refused.
pub type Checked<T> = Result<T, Refused>;

/// An http(s) endpoint URL: scheme, a host (name, IPv4 or bracketed IPv6), an optional port
/// 1–65535 and path. Empty is refused: an empty `--endpoint-url` must never mean "real AWS".
pub fn endpoint_url(s: &str) -> Checked<String> {
    check_endpoint(s)?;
    Ok(s.to_string())
}

/// The reason `url` is not a usable endpoint, if it is not. Credentials (`user:pass@`) are
/// allowed but never repeated in the reason.
pub fn check_endpoint(url: &str) -> Checked<()> {
    if url.trim().is_empty() {
        return Err("the URL is empty (omit the option for real AWS, or use --local)".into());
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("expected http:// or https:// followed by a host, e.g. http://localhost:8000")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or("the IPv6 address has no closing ']' (e.g. http://[::1]:8000)")?;
        addr.parse::<Ipv6Addr>()
            .map_err(|_| format!("'{addr}' is not an IPv6 address"))?;
        match after {
            "" => (addr, None),
            p => (
                addr,
                Some(
                    p.strip_prefix(':')
                        .ok_or("expected ':PORT' after the IPv6 address")?,
                ),
            ),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    if !host_port.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(format!("'{host}' is not a host name").into());
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(format!("'{p}' is not a port (1-65535)").into()),
        }
    }
    Ok(())
}

/// `url` with any `user:password@` replaced by `***@`: credentials in an endpoint URL are
/// never printed (messages, `-v`, hints).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// The `user:password` part of an endpoint URL, if any: what `errors::scrub` removes from
/// every line printed.
pub fn url_credentials(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rfind('@').map(|at| authority[..at].to_string())
}

/// `text` with the credentials of every URL in it (`scheme://user:password@host`) replaced by
/// `***`: for lines that quote a URL as given, e.g. clap's "invalid value '…'".
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c == '/'
                    || c == '?'
                    || c == '#'
                    || c.is_whitespace()
                    || c == '\''
                    || c == '`'
                    || c == '"'
            })
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// An AWS region name as the SDK accepts it: a DNS label (letters, digits, '-'), e.g.
/// us-east-1. Whether the region exists is for AWS to say.
pub fn region(s: &str) -> Checked<String> {
    check_region(s)?;
    Ok(s.to_string())
}

pub fn check_region(s: &str) -> Checked<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("not a region name (letters, digits and '-', e.g. us-east-1 or ca-central-1)".into())
    }
}

/// A DynamoDB table name: 3–255 of a-z, A-Z, 0-9, '_', '-', '.'.
pub fn table_name(s: &str) -> Checked<String> {
    let n = s.chars().count();
    if !(3..=255).contains(&n) {
        return Err(format!("a table name has 3 to 255 characters (this one has {n})").into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "a table name may contain only a-z, A-Z, 0-9, '_', '-' and '.' (found '{}')",
            crate::term::safe::terminal_safe(&c.to_string())
        )
        .into());
    }
    Ok(s.to_string())
}

/// A uuid, 8-4-4-4-12 hex digits.
pub fn uuid(s: &str) -> Checked<String> {
    if crate::model::fixture::is_uuid(s) {
        Ok(s.to_string())
    } else {
        Err("not a uuid (8-4-4-4-12 hex digits, e.g. 5ae290ed-55d1-47a0-bc6d-fe2bc2700399)".into())
    }
}

/// A 4-digit year, e.g. 2026.
pub fn year(s: &str) -> Checked<String> {
    if s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err("not a 4-digit year (e.g. 2026)".into())
    }
}

/// An RFC 3339 time, normalised to the sort-key form.
pub fn time(s: &str) -> Checked<String> {
    crate::model::normalize_timestamp(s).map_err(|e| Refused(format!("{e:#}")))
}

/// Text that is not empty or blank.
pub fn non_empty(s: &str) -> Checked<String> {
    if s.trim().is_empty() {
        Err("it is empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// A length of time as people write it: a number and a unit, `s`, `m`, `h` or `d`, one or more
/// (`90s`, `10m`, `1h30m`, `2d`).
pub fn duration(s: &str) -> Checked<std::time::Duration> {
    const HOW: &str = "expected a number and a unit (s, m, h, d), e.g. 90s, 10m or 1h30m";
    let mut total = 0u64;
    let mut digits = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(HOW.into()),
        };
        let n: u64 = digits.parse().map_err(|_| Refused::from(HOW))?;
        total = n
            .checked_mul(unit)
            .and_then(|n| total.checked_add(n))
            .ok_or(Refused::from("too long"))?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(HOW.into());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |s: &str| duration(s).map(|d| d.as_secs());
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("10m"), Ok(600));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("2d"), Ok(172_800));
        for bad in [
            "",
            "10",
            "m",
            "1x",
            "0s",
            "-5m",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints() {
        for good in [
            "http://localhost:8000",
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://[::1]:8000/",
            "http://[::1]",
            "http://user:pass@10.0.0.5:8000",
            "http://127.0.0.1",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " ",
            "localhost:8000",
            "http://",
            "http://[::1",
            "http://[::1]x",
            "http://[zz]:1",
            "http://host:0",
            "http://host:99999",
            "http://host:port",
            "http://ho st",
            "ftp://host",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad:?}");
        }
        let err = check_endpoint("http://user:secret@[::1").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn urls_in_text_lose_their_credentials() {
        assert_eq!(
            redact_urls_in("invalid value 'http://u:p@[::1' for x; at https://a:b@h:1/p@q"),
            "invalid value 'http://***@[::1' for x; at https://***@h:1/p@q"
        );
        assert_eq!(redact_urls_in("no urls here"), "no urls here");
    }

    #[test]
    fn regions_and_tables() {
        assert!(check_region("us-east-1").is_ok());
        assert!(check_region("garbage region!").is_err());
        assert!(check_region("").is_err());
        assert!(table_name("cruddur-messages").is_ok());
        assert!(table_name("a.b_c-D9").is_ok());
        assert!(table_name("ab").is_err());
        assert!(table_name("bad name!").is_err());
        assert!(table_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn small_values() {
        assert!(uuid("5ae290ed-55d1-47a0-bc6d-fe2bc2700399").is_ok());
        assert!(uuid("nope").is_err());
        assert!(year("2026").is_ok());
        assert!(year("26").is_err());
        assert!(time("2026-01-01T00:00:00Z").is_ok());
        assert!(time("yesterday").is_err());
        assert!(non_empty(" ").is_err());
    }
}
