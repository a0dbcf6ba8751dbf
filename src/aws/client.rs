//! The one place that knows local versus AWS: endpoint, region, profile, credentials.
//! Every network call goes through the clients built here, once per process, with the SDK's
//! own retries off (the run's `Backoff` retries instead).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use tokio_util::sync::CancellationToken;

use crate::aws::db::{Db, Target};
use crate::errors::{self, Failure};
use crate::model::checked;

/// Where DynamoDB Local listens when `--local` is given and `$DDB_LOCAL_ENDPOINT` is not set.
pub const DEFAULT_LOCAL_ENDPOINT: &str = "http://localhost:8000";
/// Region used for loopback endpoints when none is given: DynamoDB Local ignores it, but the
/// SDK needs one to sign.
pub const LOCAL_REGION: &str = "us-east-1";

/// Raw options from the command line, before resolution.
#[derive(Clone, Debug, Default)]
pub struct TargetOptions {
    pub local: bool,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Pick the endpoint: `--local` (`$DDB_LOCAL_ENDPOINT`, else the DynamoDB Local `ddb local
/// start` runs, else localhost:8000) > `--endpoint-url` > `AWS_ENDPOINT_URL_DYNAMODB` >
/// `AWS_ENDPOINT_URL` > the SDK default (real AWS).
pub fn resolve_endpoint(
    opts: &TargetOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    // An empty environment variable counts as unset (as the AWS CLI treats it); an empty
    // --endpoint-url never gets here (checked::endpoint_url refuses it).
    let from_env = |name: &'static str| env(name).filter(|s| !s.is_empty()).map(|v| (name, v));
    let chosen = if opts.local {
        Some(
            from_env("DDB_LOCAL_ENDPOINT")
                .or_else(|| {
                    crate::aws::local::running_endpoint(&env).map(|e| ("ddb local start", e))
                })
                .unwrap_or(("--local", DEFAULT_LOCAL_ENDPOINT.to_string())),
        )
    } else {
        opts.endpoint_url
            .clone()
            .map(|v| ("--endpoint-url", v))
            .or_else(|| from_env("AWS_ENDPOINT_URL_DYNAMODB"))
            .or_else(|| from_env("AWS_ENDPOINT_URL"))
    };
    match chosen {
        Some((source, url)) => match checked::check_endpoint(&url) {
            Ok(()) => Ok(Some(url)),
            Err(why) => Err(Failure::Usage(format!(
                "{source}: '{}' is not an endpoint URL: {why}",
                checked::redact_url(&url)
            ))
            .into()),
        },
        None => Ok(None),
    }
}

/// The host part of an http(s) URL, without brackets for IPv6.
fn host_of(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .with_context(|| "expected it to start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    if host.is_empty() {
        bail!("it has no host");
    }
    Ok(host)
}

/// localhost, 127.0.0.0/8 and ::1 are local; everything else (real AWS included) is remote.
pub fn is_loopback(url: &str) -> bool {
    match host_of(url) {
        Ok(host) => {
            host.eq_ignore_ascii_case("localhost")
                || host.to_ascii_lowercase().ends_with(".localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Err(_) => false,
    }
}

/// Build the run's database handle: both SDK clients from one loaded configuration, for
/// `table`, cancelled through `cancel`.
pub async fn build(opts: &TargetOptions, table: &str, cancel: CancellationToken) -> Result<Db> {
    let endpoint = resolve_endpoint(opts, |k| std::env::var(k).ok())?;
    if let Some(secret) = endpoint.as_deref().and_then(checked::url_credentials) {
        errors::scrub_secret(secret);
    }
    let local = endpoint.as_deref().is_some_and(is_loopback);

    // The SDK's own retries are off: every call goes through the run's `Backoff` (`Db::send`,
    // `Pages`), so that each retry is paced, bounded by --max-attempts, stopped by Ctrl-C and
    // counted.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(if local { 2 } else { 5 }))
                .build(),
        );
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    } else if local {
        loader = loader.region(Region::new(LOCAL_REGION));
    }
    if local && opts.profile.is_none() {
        // DynamoDB Local accepts any credentials; never reach for the real ones.
        loader = loader.credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "ddb-local",
        ));
    }
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    let config: SdkConfig = loader.load().await;
    let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
        Failure::Unreachable(
            "no AWS region configured: pass --region, set AWS_REGION or a profile's region, or use --local"
                .into(),
        )
    })?;
    // --region was checked by clap; this catches AWS_REGION or a profile's region.
    checked::check_region(&region).map_err(|why| {
        Failure::Usage(format!(
            "region '{}' from the AWS configuration (AWS_REGION, AWS_DEFAULT_REGION or the profile): {why}",
            crate::term::safe::terminal_safe(&region)
        ))
    })?;

    let mut flags = Vec::new();
    if opts.local {
        flags.push("--local".to_string());
    } else if let Some(url) = &opts.endpoint_url {
        flags.push(format!("--endpoint-url {}", checked::redact_url(url)));
    }
    if let Some(r) = &opts.region {
        flags.push(format!("--region {r}"));
    }
    if let Some(p) = &opts.profile {
        flags.push(format!("--profile {p}"));
    }
    let target = Target {
        endpoint,
        region,
        profile: opts.profile.clone(),
        local,
        flags,
    };
    Ok(Db {
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        streams: aws_sdk_dynamodbstreams::Client::new(&config),
        table: table.to_string(),
        target,
        cancel,
        backoff: crate::aws::retry::Backoff::default(),
        retried: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(local: bool, endpoint: Option<&str>) -> TargetOptions {
        TargetOptions {
            local,
            endpoint_url: endpoint.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn loopback_hosts_are_local() {
        for url in [
            "http://localhost:8000",
            "http://127.0.0.1:8000",
            "http://127.8.9.10",
            "http://[::1]:8000/",
            "http://LOCALHOST",
        ] {
            assert!(is_loopback(url), "{url} should be local");
        }
        for url in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:8000",
            "http://localhost.example.com",
            "http://[::2]:8000",
        ] {
            assert!(!is_loopback(url), "{url} should be remote");
        }
    }

    #[test]
    fn endpoint_precedence() {
        let env = |k: &str| match k {
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9000".to_string()),
            "DDB_LOCAL_ENDPOINT" => Some("http://127.0.0.1:8123".to_string()),
            _ => None,
        };
        let none = |_: &str| None;
        assert_eq!(
            resolve_endpoint(&opts(true, None), none)
                .unwrap()
                .as_deref(),
            Some(DEFAULT_LOCAL_ENDPOINT)
        );
        assert_eq!(
            resolve_endpoint(&opts(true, None), env).unwrap().as_deref(),
            Some("http://127.0.0.1:8123")
        );
        assert_eq!(
            resolve_endpoint(&opts(false, Some("http://[::1]:1")), env)
                .unwrap()
                .as_deref(),
            Some("http://[::1]:1")
        );
        assert_eq!(
            resolve_endpoint(&opts(false, None), env)
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(resolve_endpoint(&opts(false, None), none).unwrap(), None);
    }

    #[test]
    fn credentials_are_redacted() {
        use checked::{redact_url, url_credentials};
        assert_eq!(
            redact_url("http://user:pass@host:1/x@y"),
            "http://***@host:1/x@y"
        );
        assert_eq!(redact_url("http://host:1"), "http://host:1");
        assert_eq!(
            url_credentials("http://user:pass@host:1/").as_deref(),
            Some("user:pass")
        );
        assert_eq!(url_credentials("http://host/a@b"), None);
        let err = resolve_endpoint(&opts(false, Some("http://u:hunter2@[::1")), |_| None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2") && err.contains("***@"), "{err}");
    }

    #[test]
    fn bad_endpoint_is_an_error() {
        let err = resolve_endpoint(&opts(false, Some("localhost:8000")), |_| None).unwrap_err();
        assert!(format!("{err:#}").contains("localhost:8000"));
    }
}
