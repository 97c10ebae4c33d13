//! Vonage signed webhooks: `Authorization: Bearer <JWT>`, HS256 with the account's signature
//! secret, claims `iat`, `jti`, `iss`, `api_key` and `payload_hash` (hex SHA-256 of the raw body).
//! A request passes only with a valid signature, a fresh `iat`, and a body whose hash matches.

use crate::config::{ConfigError, Source, number, optional};
use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use lambda_http::Request;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How webhooks are checked.
#[derive(Clone)]
pub enum WebhookAuth {
    /// Every webhook must carry a valid signature.
    Required(Verifier),
    /// No checks: local work only, chosen explicitly (`WEBHOOK_SIGNATURES=off`) and logged.
    Off,
}

#[derive(Clone)]
pub struct Verifier {
    secret: SecretString,
    /// When set, the token's `api_key` claim must be this account's key.
    api_key: Option<String>,
    /// Oldest accepted token, in seconds; tokens from the future get the same leeway.
    max_age_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a valid signed token")]
    Invalid,
    #[error("the token is too old or from the future")]
    Stale,
    #[error("the body does not match the signed payload hash")]
    Tampered,
    #[error("the token is for another account")]
    WrongAccount,
}

/// The claims Vonage signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iat: i64,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub payload_hash: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
}

/// Hex SHA-256, as in `payload_hash`.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

impl Verifier {
    pub fn new(secret: SecretString, api_key: Option<String>, max_age_seconds: i64) -> Self {
        Self {
            secret,
            api_key,
            max_age_seconds,
        }
    }

    /// Checks a token against the raw body at time `now` (unix seconds).
    pub fn verify(&self, token: &str, body: &[u8], now: i64) -> Result<Claims, SignatureError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let key = DecodingKey::from_secret(self.secret.expose_secret().as_bytes());
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|_| SignatureError::Invalid)?
            .claims;
        if now - claims.iat > self.max_age_seconds || claims.iat - now > self.max_age_seconds {
            return Err(SignatureError::Stale);
        }
        if let (Some(expected), Some(got)) = (&self.api_key, &claims.api_key)
            && expected != got
        {
            return Err(SignatureError::WrongAccount);
        }
        match &claims.payload_hash {
            Some(hash) if hash.eq_ignore_ascii_case(&payload_hash(body)) => Ok(claims),
            // A request without a body (a GET) may come without a payload hash.
            None if body.is_empty() => Ok(claims),
            _ => Err(SignatureError::Tampered),
        }
    }

    /// Checks a request's `Authorization` header against its body.
    pub fn verify_request(&self, req: &Request, now: i64) -> Result<Claims, SignatureError> {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(SignatureError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(SignatureError::Missing)?
            .trim();
        self.verify(token, crate::request::body_bytes(req), now)
    }
}

impl WebhookAuth {
    /// `Ok` when the request may be handled.
    pub fn check(&self, req: &Request, now: i64) -> Result<(), SignatureError> {
        match self {
            WebhookAuth::Off => Ok(()),
            WebhookAuth::Required(v) => v.verify_request(req, now).map(|_| ()),
        }
    }
}

/// Signs claims as Vonage does (tests and local tools).
pub fn sign(claims: &Claims, secret: &str) -> String {
    let header = jsonwebtoken::Header::new(Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// The claims Vonage would sign for `body` at `iat`.
pub fn claims_for(body: &[u8], iat: i64, api_key: &str) -> Claims {
    Claims {
        iat,
        jti: Some(uuid::Uuid::new_v4().to_string()),
        iss: Some("Vonage".into()),
        api_key: Some(api_key.into()),
        payload_hash: Some(payload_hash(body)),
        application_id: None,
    }
}

/// How webhooks are authenticated: `WEBHOOK_SIGNATURES` is `required` (the default) or `off`
/// (local work only; logged at start). `SIGNATURE_MAX_AGE_SECONDS` bounds a token's age.
pub fn webhook_auth(
    src: &dyn Source,
    signature_secret: Option<SecretString>,
) -> Result<WebhookAuth, ConfigError> {
    match optional(src, "WEBHOOK_SIGNATURES").as_deref() {
        Some("off") => {
            tracing::warn!(
                "webhook signature checks are OFF (WEBHOOK_SIGNATURES=off): local work only"
            );
            Ok(WebhookAuth::Off)
        }
        None | Some("required") => {
            let secret = signature_secret.ok_or(ConfigError::Missing("VONAGE_SIGNATURE_SECRET"))?;
            let max_age = number(src, "SIGNATURE_MAX_AGE_SECONDS", 300)?;
            Ok(WebhookAuth::Required(Verifier::new(
                secret,
                optional(src, "VONAGE_API_KEY"),
                max_age,
            )))
        }
        Some(other) => Err(ConfigError::Invalid {
            name: "WEBHOOK_SIGNATURES",
            reason: format!("{other} is neither required nor off"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-signature-secret-of-some-length";

    fn verifier() -> Verifier {
        Verifier::new(SecretString::from(SECRET), Some("abcd1234".into()), 300)
    }

    #[test]
    fn a_vonage_signature_passes_and_everything_else_fails() {
        let body = br#"{"to":"447700900101","from":"447700900001"}"#;
        let now = 1_800_000_000;
        let good = sign(&claims_for(body, now - 10, "abcd1234"), SECRET);
        assert!(verifier().verify(&good, body, now).is_ok());

        let wrong_secret = sign(&claims_for(body, now, "abcd1234"), "another-secret");
        assert_eq!(
            verifier().verify(&wrong_secret, body, now).unwrap_err(),
            SignatureError::Invalid
        );
        let tampered = br#"{"to":"447700900101","from":"447700900002"}"#;
        assert_eq!(
            verifier().verify(&good, tampered, now).unwrap_err(),
            SignatureError::Tampered
        );
        let old = sign(&claims_for(body, now - 301, "abcd1234"), SECRET);
        assert_eq!(
            verifier().verify(&old, body, now).unwrap_err(),
            SignatureError::Stale
        );
        let future = sign(&claims_for(body, now + 301, "abcd1234"), SECRET);
        assert_eq!(
            verifier().verify(&future, body, now).unwrap_err(),
            SignatureError::Stale
        );
        let other = sign(&claims_for(body, now, "zzzz9999"), SECRET);
        assert_eq!(
            verifier().verify(&other, body, now).unwrap_err(),
            SignatureError::WrongAccount
        );
        assert_eq!(
            verifier().verify("not.a.token", body, now).unwrap_err(),
            SignatureError::Invalid
        );
        // An unsigned token ("alg": "none") is refused.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpYXQiOjE4MDAwMDAwMDB9.";
        assert_eq!(
            verifier().verify(none, b"", now).unwrap_err(),
            SignatureError::Invalid
        );
    }

    #[test]
    fn a_get_may_omit_the_payload_hash() {
        let now = 1_800_000_000;
        let mut claims = claims_for(b"", now, "abcd1234");
        claims.payload_hash = None;
        let token = sign(&claims, SECRET);
        assert!(verifier().verify(&token, b"", now).is_ok());
        assert_eq!(
            verifier().verify(&token, b"{}", now).unwrap_err(),
            SignatureError::Tampered
        );
    }
}
