//! The marketplace backend's hooks.

use std::time::Duration;

use super::{ConfigError, Source, number, optional};

/// The marketplace backend's hooks: where they are and how long one call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// `OUT_OF_SESSION_URL`: asked about calls and texts no open conversation takes.
    pub out_of_session_url: Option<String>,
    /// `INTERCEPT_URL`: asked before a call or text of a conversation created with
    /// `"intercept": true` goes through.
    pub intercept_url: Option<String>,
    /// `HOOK_TIMEOUT_MS`: one hook call's budget.
    pub timeout: Duration,
}

impl HookConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let timeout = number(src, "HOOK_TIMEOUT_MS", 1500u64)?;
        if !(1..=10_000).contains(&timeout) {
            return Err(ConfigError::Invalid {
                name: "HOOK_TIMEOUT_MS",
                reason: "must lie between 1 and 10000".into(),
            });
        }
        Ok(Self {
            out_of_session_url: hook_url(src, "OUT_OF_SESSION_URL")?,
            intercept_url: hook_url(src, "INTERCEPT_URL")?,
            timeout: Duration::from_millis(timeout),
        })
    }

    pub fn any(&self) -> bool {
        self.out_of_session_url.is_some() || self.intercept_url.is_some()
    }
}

/// A hook's URL: `https`, or plain `http` only to a loopback address (local work and tests),
/// so that a hook request, which names a caller's real number, never crosses a network in clear.
fn hook_url(src: &dyn Source, name: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(raw) = optional(src, name) else {
        return Ok(None);
    };
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    let Some(host) = url.host_str() else {
        return Err(invalid("has no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(Some(url.to_string())),
        "http" if loopback => Ok(Some(url.to_string())),
        "http" => Err(invalid(
            "must be https (plain http only to a loopback address)",
        )),
        _ => Err(invalid("must be an https URL")),
    }
}
