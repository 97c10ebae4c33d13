//! The SMS API's webhook signature: `sig`, a hash over every other parameter, sorted by name,
//! written `&name=value` (with `&` and `=` inside values turned into `_`), either MD5 of that
//! text followed by the signature secret (`md5hash`) or an HMAC of it keyed by the secret. The
//! `timestamp` it covers bounds how old a signed request may be.

use crate::config::{ConfigError, Source, number, text};
use crate::secrets::{Rotating, SIGNATURE_SECRET};
use crate::signature::{is_local, signatures_off};
use std::collections::{BTreeMap, HashMap};

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// How the account signs SMS webhooks (its dashboard setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsSignatureMethod {
    Md5Hash,
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

impl SmsSignatureMethod {
    /// The dashboard's names: `md5hash`, `md5`, `sha1`, `sha256`, `sha512`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "md5hash" => Self::Md5Hash,
            "md5" => Self::HmacMd5,
            "sha1" => Self::HmacSha1,
            "sha256" => Self::HmacSha256,
            "sha512" => Self::HmacSha512,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsSignatureError {
    #[error("the request carries no sig")]
    Missing,
    #[error("the sig does not match the parameters")]
    Mismatch,
    #[error("the signed timestamp is missing, unreadable or more than {0} s away")]
    Stale(i64),
}

/// The text that is hashed: every parameter but `sig`, sorted by name.
fn signed_text(params: &HashMap<String, String>) -> String {
    let sorted: BTreeMap<&str, &str> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "sig")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut text = String::new();
    for (k, v) in sorted {
        text.push('&');
        text.push_str(k);
        text.push('=');
        text.push_str(&v.replace(['&', '='], "_"));
    }
    text
}

fn hmac_hex<M: Mac + KeyInit>(secret: &[u8], text: &str) -> String {
    match <M as KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(text.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes a key of any length.
        Err(_) => String::new(),
    }
}

/// The `sig` Vonage would send for `params` (lower-case hex).
pub fn sms_sign(
    params: &HashMap<String, String>,
    secret: &SecretString,
    method: SmsSignatureMethod,
) -> String {
    let text = signed_text(params);
    let key = secret.expose_secret().as_bytes();
    match method {
        SmsSignatureMethod::Md5Hash => {
            let mut hasher = Md5::new();
            hasher.update(text.as_bytes());
            hasher.update(key);
            hex::encode(hasher.finalize())
        }
        SmsSignatureMethod::HmacMd5 => hmac_hex::<Hmac<Md5>>(key, &text),
        SmsSignatureMethod::HmacSha1 => hmac_hex::<Hmac<Sha1>>(key, &text),
        SmsSignatureMethod::HmacSha256 => hmac_hex::<Hmac<Sha256>>(key, &text),
        SmsSignatureMethod::HmacSha512 => hmac_hex::<Hmac<Sha512>>(key, &text),
    }
}

/// Checks signed SMS webhooks.
#[derive(Clone)]
pub struct SmsVerifier {
    secret: Rotating,
    method: SmsSignatureMethod,
    max_age_seconds: i64,
    /// Checks were switched off where the function is deployed: every request is refused.
    closed: bool,
}

impl SmsVerifier {
    pub fn new(secret: SecretString, method: SmsSignatureMethod, max_age_seconds: i64) -> Self {
        Self {
            secret: Rotating::Fixed(secret),
            method,
            max_age_seconds,
            closed: false,
        }
    }

    /// `Ok` when `sig` matches the other parameters and their `timestamp` is within the
    /// allowed age of `now` (either way, for clock skew), with the secret as last read.
    pub fn verify(
        &self,
        params: &HashMap<String, String>,
        now: i64,
    ) -> Result<(), SmsSignatureError> {
        self.verify_with(self.secret.last(), params, now)
    }

    /// [`verify`](Self::verify) with the current secret, and once more with the secret read
    /// again when the `sig` does not match an older copy.
    pub async fn check(
        &self,
        params: &HashMap<String, String>,
        now: i64,
    ) -> Result<(), SmsSignatureError> {
        self.secret
            .check(
                |secret| self.verify_with(secret, params, now),
                |e| *e == SmsSignatureError::Mismatch,
            )
            .await
    }

    fn verify_with(
        &self,
        secret: &SecretString,
        params: &HashMap<String, String>,
        now: i64,
    ) -> Result<(), SmsSignatureError> {
        if self.closed {
            return Err(SmsSignatureError::Missing);
        }
        let sig = params.get("sig").ok_or(SmsSignatureError::Missing)?;
        let expected = sms_sign(params, secret, self.method);
        let given = sig.trim().to_ascii_lowercase();
        if given.len() != expected.len() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
        {
            return Err(SmsSignatureError::Mismatch);
        }
        let stamp = params
            .get("timestamp")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or(SmsSignatureError::Stale(self.max_age_seconds))?;
        if (now - stamp).abs() > self.max_age_seconds {
            return Err(SmsSignatureError::Stale(self.max_age_seconds));
        }
        Ok(())
    }
}

/// How inbound SMS webhooks are authenticated: as [`webhook_auth`](crate::signature::webhook_auth)
/// decides for voice (off only locally), with the SMS API's own `sig` scheme
/// (`SMS_SIGNATURE_METHOD`: `md5hash`, the default, or the HMAC `md5`, `sha1`, `sha256`,
/// `sha512`, as set on the account).
pub async fn sms_auth(src: &dyn Source) -> Result<Option<SmsVerifier>, ConfigError> {
    let name = text(src, "SMS_SIGNATURE_METHOD", "md5hash");
    let method = SmsSignatureMethod::parse(&name).ok_or(ConfigError::Invalid {
        name: "SMS_SIGNATURE_METHOD",
        reason: format!("{name} is not md5hash, md5, sha1, sha256 or sha512"),
    })?;
    let max_age = number(src, "SIGNATURE_MAX_AGE_SECONDS", 300)?;
    if signatures_off(src)? {
        if is_local(src) {
            return Ok(None);
        }
        let mut closed = SmsVerifier::new(SecretString::from(""), method, max_age);
        closed.closed = true;
        return Ok(Some(closed));
    }
    let secret = Rotating::from_source(src, SIGNATURE_SECRET)
        .await?
        .ok_or(ConfigError::Missing("VONAGE_SIGNATURE_SECRET"))?;
    Ok(Some(SmsVerifier {
        secret,
        method,
        max_age_seconds: max_age,
        closed: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_signed_text_is_sorted_and_cleaned() {
        let p = params(&[
            ("to", "447700900101"),
            ("text", "a=b&c"),
            ("sig", "x"),
            ("api-key", "k"),
        ]);
        assert_eq!(signed_text(&p), "&api-key=k&text=a_b_c&to=447700900101");
    }

    #[test]
    fn md5hash_is_md5_of_the_text_and_secret() {
        // md5("&a=1secret")
        let p = params(&[("a", "1")]);
        let secret = SecretString::from("secret");
        let mut h = Md5::new();
        h.update(b"&a=1secret");
        assert_eq!(
            sms_sign(&p, &secret, SmsSignatureMethod::Md5Hash),
            hex::encode(h.finalize())
        );
    }

    #[test]
    fn every_method_verifies_its_own_and_refuses_a_change() {
        let secret = SecretString::from("0123456789abcdef");
        for method in ["md5hash", "md5", "sha1", "sha256", "sha512"] {
            let method = SmsSignatureMethod::parse(method).unwrap();
            let mut p = params(&[
                ("msisdn", "447700900001"),
                ("text", "hi"),
                ("timestamp", "1000"),
            ]);
            let sig = sms_sign(&p, &secret, method).to_ascii_uppercase();
            p.insert("sig".into(), sig);
            let v = SmsVerifier::new(secret.clone(), method, 300);
            assert_eq!(v.verify(&p, 1100), Ok(()), "{method:?}");
            assert_eq!(v.verify(&p, 2000), Err(SmsSignatureError::Stale(300)));
            p.insert("text".into(), "hi!".into());
            assert_eq!(v.verify(&p, 1100), Err(SmsSignatureError::Mismatch));
            p.remove("sig");
            assert_eq!(v.verify(&p, 1100), Err(SmsSignatureError::Missing));
        }
    }
}
