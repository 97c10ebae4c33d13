//! Calls to the marketplace backend's hooks (PRODUCT.md, "Hooks"): a JSON `POST` signed with the
//! hook secret, answered within a time budget. The signature header is
//! `Voice-Proxy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`;
//! [`verify`] is what a backend runs to check it (docs/features.md shows the same in a few lines).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, HookConfig, Source};
use crate::secrets::{HOOK_SECRET, require};

pub const SIGNATURE_HEADER: &str = "Voice-Proxy-Signature";

/// The most of a hook's answer that is read; a longer one is not an action.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Why a hook's answer could not be used. Every case gets the default behaviour.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the hook did not answer within {0} ms")]
    Timeout(u128),
    #[error("the hook could not be reached: {0}")]
    Unreachable(String),
    #[error("the hook answered {0}")]
    Status(u16),
    #[error("the hook's answer is not one of the documented actions: {0}")]
    Unreadable(String),
}

impl HookError {
    /// As the log lines and the `HookCalls` metric name it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Status(_) => "status",
            Self::Unreadable(_) => "unreadable",
        }
    }

    /// The backend gave no answer at all (it is slow or down), as opposed to a wrong one.
    pub fn no_answer(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Unreachable(_))
    }
}

/// One hook: its URL, the secret its requests are signed with, and its budget.
#[derive(Clone)]
pub struct HookClient {
    http: reqwest::Client,
    url: String,
    secret: SecretString,
    timeout: Duration,
}

impl HookClient {
    /// A client for the hook at `url`, which the setting `name` gave.
    pub fn new(
        name: &'static str,
        url: &str,
        secret: SecretString,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        // No redirect is followed: one would send the signed body, which may hold a real
        // number, on to wherever the answer points, even a plain-http address.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .user_agent(concat!("voice-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            url: url.to_owned(),
            secret,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Posts `body`, signed, and reads the answer as `A`, within the hook's own budget or
    /// `budget` when that is shorter.
    pub async fn call<A: DeserializeOwned>(
        &self,
        body: &impl Serialize,
        budget: Duration,
    ) -> Result<A, HookError> {
        let budget = budget.min(self.timeout);
        let body = serde_json::to_vec(body).map_err(|e| HookError::Unreadable(e.to_string()))?;
        let signature = sign(self.secret.expose_secret().as_bytes(), crate::now(), &body);
        let exchange = async {
            let mut response = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await
                .map_err(|e| HookError::Unreachable(crate::error::error_chain(&e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(HookError::Status(status.as_u16()));
            }
            let mut answer = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| HookError::Unreachable(crate::error::error_chain(&e)))?
            {
                answer.extend_from_slice(&chunk);
                if answer.len() > MAX_ANSWER_BYTES {
                    return Err(HookError::Unreadable(format!(
                        "longer than {MAX_ANSWER_BYTES} bytes"
                    )));
                }
            }
            serde_json::from_slice(&answer).map_err(|e| HookError::Unreadable(e.to_string()))
        };
        tokio::time::timeout(budget, exchange)
            .await
            .map_err(|_| HookError::Timeout(budget.as_millis()))?
    }
}

/// The hooks the backend configured, each ready to call.
#[derive(Clone, Default)]
pub struct Hooks {
    pub out_of_session: Option<HookClient>,
    pub intercept: Option<HookClient>,
}

impl Hooks {
    /// From `OUT_OF_SESSION_URL`, `INTERCEPT_URL` and `HOOK_TIMEOUT_MS`, signed with
    /// `HOOK_SECRET` (from Secrets Manager in the stack), which a configured hook requires.
    pub async fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::from_config(&HookConfig::from_source(src)?, src).await
    }

    /// The hooks `config` describes, with the hook secret found as `src` says (read only when
    /// a hook is set).
    pub async fn from_config(config: &HookConfig, src: &dyn Source) -> Result<Self, ConfigError> {
        if !config.any() {
            return Ok(Self::default());
        }
        let secret = require(src, HOOK_SECRET).await?;
        Self::new(config, secret)
    }

    pub fn new(config: &HookConfig, secret: SecretString) -> Result<Self, ConfigError> {
        let client = |name, url: &Option<String>| {
            url.as_deref()
                .map(|u| HookClient::new(name, u, secret.clone(), config.timeout))
                .transpose()
        };
        Ok(Self {
            out_of_session: client("OUT_OF_SESSION_URL", &config.out_of_session_url)?,
            intercept: client("INTERCEPT_URL", &config.intercept_url)?,
        })
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(digest))
}

/// Why a hook request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is not t=<seconds>,v1=<hex>")]
    Malformed,
    #[error("the signature is more than {0} seconds from now")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a hook request as the backend receives it: the header's `v1` must be the HMAC of
/// `"<t>.<raw body>"`, and `t` within `tolerance` seconds of `now` (a replayed request is
/// refused once it is older).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed);
    };
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Stale(tolerance));
    }
    let expected = mac(secret, t, body).finalize().into_bytes();
    if bool::from(expected.as_slice().ct_eq(&v1)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_tampered_body_or_old_one_does_not() {
        let body = br#"{"channel":"voice"}"#;
        let header = sign(b"hook-secret", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify(b"hook-secret", &header, body, 1_700_000_010, 300),
            Ok(())
        );
        assert_eq!(
            verify(
                b"hook-secret",
                &header,
                br#"{"channel":"sms"}"#,
                1_700_000_010,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another", &header, body, 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"hook-secret", &header, body, 1_700_001_000, 300),
            Err(SignatureError::Stale(300))
        );
        assert_eq!(
            verify(b"hook-secret", "v1=00", body, 1_700_000_000, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[tokio::test]
    async fn a_hook_needs_the_hook_secret_and_none_needs_nothing() {
        let url = |k: &str| (k == "OUT_OF_SESSION_URL").then(|| "https://b.example.com/h".into());
        let e = Hooks::from_source(&url).await.err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("HOOK_SECRET must be set"));
        let hooks = Hooks::from_source(&|_: &str| None).await.ok();
        assert!(hooks.is_some_and(|h| h.out_of_session.is_none() && h.intercept.is_none()));
    }

    #[tokio::test]
    async fn a_redirect_is_an_answer_not_followed() {
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let elsewhere = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .mount(&elsewhere)
            .await;
        let hook = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("location", format!("{}/collect", elsewhere.uri()).as_str()),
            )
            .mount(&hook)
            .await;
        let client = HookClient::new(
            "OUT_OF_SESSION_URL",
            &format!("{}/hook", hook.uri()),
            SecretString::from("hook-secret"),
            Duration::from_secs(2),
        )
        .unwrap();
        let body = serde_json::json!({"caller": "447700900001"});
        let answer = client
            .call::<serde_json::Value>(&body, Duration::from_secs(2))
            .await;
        assert!(matches!(answer, Err(HookError::Status(307))), "{answer:?}");
        assert!(
            elsewhere.received_requests().await.unwrap().is_empty(),
            "the signed body went nowhere else"
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body_in_hex() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac hook-secret
        let header = sign(b"hook-secret", 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=dbf225485a6050dcdd76bf39f33e9bbf2c608ea346b5db374a78057f5e3e8aa8"
        );
    }
}
