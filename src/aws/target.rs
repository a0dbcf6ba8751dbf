//! Where this run points (endpoint, region, profile, local or not), as resolved once by
//! `client::build`; printed by `--verbose` and named in error messages and hints.

/// The resolved target of this run, printed by `--verbose` and used in error messages.
#[derive(Clone, Debug)]
pub struct Target {
    /// `None` means the SDK's default endpoint for the region (real AWS).
    pub endpoint: Option<String>,
    pub region: String,
    pub profile: Option<String>,
    /// A loopback endpoint: dummy credentials, and destructive commands need no `--yes`.
    pub local: bool,
    /// The target options as given (`--local`, `--endpoint-url URL` with credentials redacted,
    /// `--region R`, `--profile P`), so hints can name a command that reaches the same place.
    pub flags: Vec<String>,
}

impl Target {
    /// `ddb <target flags> [--table T] <rest>`: a command to suggest, aimed where this run was.
    pub fn suggest(&self, table: &str, rest: &str) -> String {
        let mut words = vec!["ddb".to_string()];
        words.extend(self.flags.iter().cloned());
        if table != crate::model::DEFAULT_TABLE {
            words.push(format!("--table {table}"));
        }
        words.push(rest.to_string());
        words.join(" ")
    }

    pub fn endpoint_label(&self) -> String {
        match &self.endpoint {
            Some(e) => crate::model::checked::redact_url(e),
            None => format!("AWS DynamoDB ({})", self.region),
        }
    }
}
