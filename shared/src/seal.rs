//! What the product's own webhook URLs carry back to it (the conversation and caller a leg
//! belongs to, the whisper's step, the code prompt's attempt, how a call was routed, what a
//! recording is): one opaque parameter, `s`, sealed with HMAC-SHA256 and bound to the call's
//! `conversation_uuid` (the same on every leg of one call, and read from the signed body). An
//! edited parameter, one swapped from another URL, or one replayed on another call does not
//! open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The query parameter a sealed value travels in.
pub const PARAM: &str = "s";

/// [`Carried::routed`] of a call the management API started (click-to-call).
pub const STARTED_BY_API: &str = "api";

/// What one of our URLs carries. Every field is optional: each URL names what it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The conversation the leg belongs to.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The caller's index in it.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<u8>,
    /// The whisper's step (`accept`).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The code prompt's attempt, from 1.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u8>,
    /// How the call was routed (`code`), or that the API started it (`api`).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub routed: Option<String>,
    /// The caller's leg, which a callee's refusal transfers.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<String>,
    /// What a recording is (`voicemail`).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Carried {
    /// The same fields from a plain query string (local work only: nothing there is signed).
    pub fn from_plain(query: &lambda_http::aws_lambda_events::query_map::QueryMap) -> Self {
        let get = |name: &str| query.first(name).map(str::to_owned);
        Self {
            conversation_id: get("conversation_id"),
            caller: get("caller").and_then(|c| c.parse().ok()),
            step: get("step"),
            attempt: get("try").and_then(|a| a.parse().ok()),
            routed: get("routed"),
            leg: get("leg"),
            kind: get("kind"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed parameter is not one of ours")]
    Malformed,
    #[error("the sealed parameter was changed, or belongs to another call")]
    Broken,
}

/// Seals and opens [`Carried`] values under one key.
#[derive(Clone)]
pub struct Seal {
    key: SecretString,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(..)")
    }
}

type Mac256 = Hmac<Sha256>;

impl Seal {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// A key derived from the signature secret, for a stack whose secret has no seal key.
    pub fn derived_from(signature_secret: &SecretString) -> Self {
        let mut mac = mac(signature_secret.expose_secret().as_bytes());
        mac.update(b"voice-proxy webhook seal");
        Self::new(SecretString::from(hex::encode(mac.finalize().into_bytes())))
    }

    /// The key where signatures are off (local work): sealing still runs, nothing is secret.
    pub fn local() -> Self {
        Self::new(SecretString::from("local work: webhooks are not signed"))
    }

    fn tag(&self, call: &str, payload: &str) -> Mac256 {
        let mut mac = mac(self.key.expose_secret().as_bytes());
        mac.update(call.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }

    /// `carried`, sealed for the call `call` (its `conversation_uuid`).
    pub fn seal(&self, call: &str, carried: &Carried) -> String {
        let json = serde_json::to_vec(carried).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.tag(call, &payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// `url` with `carried` sealed for `call` in its query string.
    pub fn url(&self, url: &str, call: &str, carried: &Carried) -> String {
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}{PARAM}={}", self.seal(call, carried))
    }

    /// `url` with `carried` sealed for a call the management API is about to start, which has
    /// no `conversation_uuid` yet: bound to the conversation `carried` names instead, and
    /// marked as started by the API ([`STARTED_BY_API`]), the only kind of value that opens
    /// this way.
    pub fn url_for_started_call(&self, url: &str, carried: &Carried) -> String {
        let carried = Carried {
            routed: Some(STARTED_BY_API.into()),
            ..carried.clone()
        };
        let bound = started_binding(carried.conversation_id.as_deref().unwrap_or_default());
        self.url(url, &bound, &carried)
    }

    /// What `sealed` carries, if it was sealed by this key for `call`, or for the conversation
    /// of a call the management API started ([`Self::url_for_started_call`]).
    pub fn open(&self, call: &str, sealed: &str) -> Result<Carried, SealError> {
        match self.open_bound(call, sealed) {
            Err(SealError::Broken) => {
                let (payload, _) = sealed.split_once('.').ok_or(SealError::Malformed)?;
                let claimed: Carried = URL_SAFE_NO_PAD
                    .decode(payload)
                    .ok()
                    .and_then(|json| serde_json::from_slice(&json).ok())
                    .ok_or(SealError::Malformed)?;
                match (
                    claimed.routed.as_deref(),
                    claimed.conversation_id.as_deref(),
                ) {
                    (Some(STARTED_BY_API), Some(id)) => {
                        self.open_bound(&started_binding(id), sealed)
                    }
                    _ => Err(SealError::Broken),
                }
            }
            other => other,
        }
    }

    fn open_bound(&self, call: &str, sealed: &str) -> Result<Carried, SealError> {
        let (payload, tag) = sealed.split_once('.').ok_or(SealError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| SealError::Malformed)?;
        self.tag(call, payload)
            .verify_slice(&tag)
            .map_err(|_| SealError::Broken)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| SealError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| SealError::Malformed)
    }
}

/// What a started call's values are bound to: its conversation, under a name no
/// `conversation_uuid` has.
fn started_binding(conversation_id: &str) -> String {
    format!("api-started:{conversation_id}")
}

fn mac(key: &[u8]) -> Mac256 {
    // HMAC takes a key of any length.
    <Mac256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carried() -> Carried {
        Carried {
            conversation_id: Some("0d8f3c1e-1f2a-4b5c-9d8e-7f6a5b4c3d2e".into()),
            caller: Some(1),
            leg: Some("leg-1".into()),
            ..Carried::default()
        }
    }

    #[test]
    fn a_sealed_value_opens_for_its_call_only() {
        let seal = Seal::new(SecretString::from("k"));
        let sealed = seal.seal("CON-1", &carried());
        assert_eq!(seal.open("CON-1", &sealed), Ok(carried()));
        assert_eq!(seal.open("CON-2", &sealed), Err(SealError::Broken));
        let other_key = Seal::new(SecretString::from("another key"));
        assert_eq!(other_key.open("CON-1", &sealed), Err(SealError::Broken));
    }

    #[test]
    fn an_edited_or_swapped_value_does_not_open() {
        let seal = Seal::new(SecretString::from("k"));
        let sealed = seal.seal("CON-1", &carried());
        let (payload, tag) = sealed.split_once('.').unwrap_or_default();
        let mut edited = carried();
        edited.caller = Some(0);
        let edited_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&edited).unwrap_or_default());
        assert_eq!(
            seal.open("CON-1", &format!("{edited_payload}.{tag}")),
            Err(SealError::Broken)
        );
        let step = seal.seal(
            "CON-1",
            &Carried {
                step: Some("accept".into()),
                ..carried()
            },
        );
        let (_, step_tag) = step.split_once('.').unwrap_or_default();
        assert_eq!(
            seal.open("CON-1", &format!("{payload}.{step_tag}")),
            Err(SealError::Broken)
        );
        assert_eq!(seal.open("CON-1", "no-dot"), Err(SealError::Malformed));
        assert_eq!(seal.open("CON-1", "a.***"), Err(SealError::Malformed));
    }

    #[test]
    fn a_started_calls_value_opens_on_any_leg_of_it_and_no_other_value_does_so() {
        let seal = Seal::new(SecretString::from("k"));
        let url = seal.url_for_started_call("https://x/webhooks/event", &carried());
        let sealed = url.split_once("?s=").map(|(_, s)| s).unwrap_or_default();
        let opened = seal.open("CON-9", sealed).expect("opens");
        assert_eq!(opened.routed.as_deref(), Some(STARTED_BY_API));
        assert_eq!(opened.conversation_id, carried().conversation_id);
        // A value sealed for one call does not open on another by claiming to be started.
        let bound = seal.seal(
            "CON-1",
            &Carried {
                routed: Some(STARTED_BY_API.into()),
                ..carried()
            },
        );
        assert_eq!(seal.open("CON-2", &bound), Err(SealError::Broken));
        // Nor does a started call's value with its conversation changed.
        let (_, tag) = sealed.split_once('.').unwrap_or_default();
        let edited = Carried {
            conversation_id: Some("another".into()),
            routed: Some(STARTED_BY_API.into()),
            ..carried()
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&edited).unwrap_or_default());
        assert_eq!(
            seal.open("CON-9", &format!("{payload}.{tag}")),
            Err(SealError::Broken)
        );
    }
}
