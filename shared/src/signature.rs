//! Vonage signed webhooks: `Authorization: Bearer <JWT>`, HS256 with the account's signature
//! secret, claims `iat`, `jti`, `iss`, `api_key`, `application_id` and `payload_hash` (hex
//! SHA-256 of the raw body). A request passes only with a valid signature, a fresh `iat`, the
//! stack's application, and a body whose hash matches; where webhooks are `POST` only, an empty
//! body or a token without `payload_hash` is refused too, since then nothing that routes the
//! request would be signed.

use crate::config::{ConfigError, Source, WebhookMethods, number, optional};
use crate::seal::{Carried, PARAM, Seal, SealError};
use crate::secrets::{
    Rotating, SEAL_KEY, SIGNATURE_SECRET, WEBHOOK_APPLICATION_ID, application_id, resolve,
};
use std::collections::{HashMap, HashSet};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use lambda_http::Request;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How webhooks are checked.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per function: its size does not matter
pub enum WebhookAuth {
    /// Every webhook must carry a valid signature.
    Required(Verifier),
    /// No checks: local work only, chosen explicitly (`WEBHOOK_SIGNATURES=off`) and logged.
    Off,
    /// Checks were switched off where the function is deployed (no local endpoint is
    /// configured): every webhook is treated as unsigned and refused.
    Closed,
}

#[derive(Clone)]
pub struct Verifier {
    secret: Rotating,
    /// When set, the token's `api_key` claim must be this account's key.
    api_key: Option<String>,
    /// When set, the token's `application_id` claim must be this application.
    application_id: Option<String>,
    /// Where webhooks are `POST` only: an empty body or an unsigned one is refused.
    body_required: bool,
    /// Oldest accepted token, in seconds; tokens from the future get the same leeway.
    max_age_seconds: i64,
    /// What our own URLs carry back is sealed with this.
    seal: Seal,
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
    #[error("the body is empty or its hash is not signed")]
    Unsigned,
    #[error("the token is for another account")]
    WrongAccount,
    #[error("the token is for another application")]
    WrongApplication,
    #[error("signature checks are off where the function is deployed")]
    Closed,
    #[error("the sealed parameter was changed, or belongs to another call")]
    Sealed,
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
            seal: Seal::derived_from(&secret),
            secret: Rotating::Fixed(secret),
            api_key,
            application_id: None,
            body_required: false,
            max_age_seconds,
        }
    }

    /// Our own URLs sealed with `seal`.
    pub fn sealing(mut self, seal: Seal) -> Self {
        self.seal = seal;
        self
    }

    /// Only tokens of this application pass.
    pub fn for_application(mut self, id: Option<String>) -> Self {
        self.application_id = id;
        self
    }

    /// With `methods` `post`, a request whose body is empty or not covered by the token fails.
    pub fn webhooks(mut self, methods: WebhookMethods) -> Self {
        self.body_required = methods == WebhookMethods::Post;
        self
    }

    /// The secret read from the stack's secret, so a rotation is picked up.
    pub fn rotating(mut self, secret: Rotating) -> Self {
        self.secret = secret;
        self
    }

    /// Checks a token against the raw body at time `now` (unix seconds), with the secret as
    /// it was last read.
    pub fn verify(&self, token: &str, body: &[u8], now: i64) -> Result<Claims, SignatureError> {
        self.verify_with(self.secret.last(), token, body, now)
    }

    fn verify_with(
        &self,
        secret: &SecretString,
        token: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Claims, SignatureError> {
        if self.body_required && body.iter().all(u8::is_ascii_whitespace) {
            return Err(SignatureError::Unsigned);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
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
        if let Some(expected) = &self.application_id
            && claims.application_id.as_ref() != Some(expected)
        {
            return Err(SignatureError::WrongApplication);
        }
        match &claims.payload_hash {
            Some(hash) if hash.eq_ignore_ascii_case(&payload_hash(body)) => Ok(claims),
            // A request without a body (a GET, locally) may come without a payload hash.
            None if self.body_required => Err(SignatureError::Unsigned),
            None if body.is_empty() => Ok(claims),
            _ => Err(SignatureError::Tampered),
        }
    }

    /// Checks a request's `Authorization` header against its body, with the current secret,
    /// and once more with the secret read again when it does not match an older copy.
    pub async fn verify_request(&self, req: &Request, now: i64) -> Result<Claims, SignatureError> {
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
        let body = crate::request::body_bytes(req);
        self.secret
            .check(
                |secret| self.verify_with(secret, token, body, now),
                |e| *e == SignatureError::Invalid,
            )
            .await
    }
}

/// A webhook as a handler reads it once its signature is checked: its fields, and what our
/// own URL carried back.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    pub fields: HashMap<String, String>,
    /// `None` when the URL carried nothing.
    pub carried: Option<Carried>,
}

impl Signed {
    /// A field, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Why a signed webhook could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the body is neither a JSON object nor a form")]
    Unreadable,
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl WebhookAuth {
    /// `Ok` when the request may be handled.
    pub async fn check(&self, req: &Request, now: i64) -> Result<(), SignatureError> {
        match self {
            WebhookAuth::Off => Ok(()),
            WebhookAuth::Closed => Err(SignatureError::Closed),
            WebhookAuth::Required(v) => v.verify_request(req, now).await.map(|_| ()),
        }
    }

    /// The same, reading a stack's secret again after a failed check once the kept copy is
    /// `after` old (tests use zero).
    pub fn refetching_after(self, after: std::time::Duration) -> Self {
        match self {
            WebhookAuth::Required(v) => WebhookAuth::Required(Verifier {
                secret: v.secret.refetching_after(after),
                ..v
            }),
            other => other,
        }
    }

    /// What our own URLs are sealed with.
    pub fn seal(&self) -> Seal {
        match self {
            WebhookAuth::Required(v) => v.seal.clone(),
            WebhookAuth::Off | WebhookAuth::Closed => Seal::local(),
        }
    }

    /// Where only a signed body counts: fields come from it alone, and our URLs' parameters
    /// only sealed.
    fn strict(&self) -> bool {
        match self {
            WebhookAuth::Required(v) => v.body_required,
            WebhookAuth::Off => false,
            WebhookAuth::Closed => true,
        }
    }

    /// A checked webhook's fields, from the signed body alone where webhooks are `POST` only
    /// (from the query string too otherwise, for local work), and what our own URL carried:
    /// the sealed parameter, opened for the call the body names (`conversation_uuid`); plain
    /// parameters count only locally.
    pub fn read(&self, req: &Request) -> Result<Signed, ReadError> {
        use lambda_http::RequestExt;
        let strict = self.strict();
        let fields = if strict {
            crate::request::body_fields(req)
        } else {
            crate::request::webhook_fields(req)
        }
        .ok_or(ReadError::Unreadable)?;
        let query = req.query_string_parameters();
        let carried = match query.first(PARAM) {
            Some(sealed) => {
                let call = fields
                    .get("conversation_uuid")
                    .map(String::as_str)
                    .unwrap_or("");
                Some(self.seal().open(call, sealed)?)
            }
            None if strict => None,
            None => Some(Carried::from_plain(&query)).filter(|c| *c != Carried::default()),
        };
        Ok(Signed { fields, carried })
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

/// Whether the function runs against local endpoints (`AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_DYNAMODB` set), the only place signature checks may be off.
pub fn is_local(src: &dyn Source) -> bool {
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"]
        .iter()
        .any(|name| optional(src, name).is_some())
}

/// Whether `WEBHOOK_SIGNATURES` asks for no checks: `Ok(true)` for `off`, `Ok(false)` for
/// `required` (the default).
pub fn signatures_off(src: &dyn Source) -> Result<bool, ConfigError> {
    match optional(src, "WEBHOOK_SIGNATURES").as_deref() {
        Some("off") => Ok(true),
        None | Some("required") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name: "WEBHOOK_SIGNATURES",
            reason: format!("{other} is neither required nor off"),
        }),
    }
}

/// How webhooks are authenticated: `WEBHOOK_SIGNATURES` is `required` (the default) or `off`
/// (local work only: logged at start, and where no local endpoint is configured every webhook
/// is refused instead). The secret is read as [`Rotating`] allows; tokens must name the
/// stack's application where it is known; `SIGNATURE_MAX_AGE_SECONDS` bounds a token's age;
/// `WEBHOOK_METHODS` `post` requires a signed body.
pub async fn webhook_auth(src: &dyn Source) -> Result<WebhookAuth, ConfigError> {
    if signatures_off(src)? {
        if !is_local(src) {
            tracing::error!(
                "WEBHOOK_SIGNATURES=off where the function is deployed: every webhook is refused"
            );
            return Ok(WebhookAuth::Closed);
        }
        tracing::warn!(
            "webhook signature checks are OFF (WEBHOOK_SIGNATURES=off): local work only"
        );
        return Ok(WebhookAuth::Off);
    }
    let secret = Rotating::from_source(src, SIGNATURE_SECRET)
        .await?
        .ok_or(ConfigError::Missing("VONAGE_SIGNATURE_SECRET"))?;
    let max_age = number(src, "SIGNATURE_MAX_AGE_SECONDS", 300)?;
    let seal = match resolve(src, SEAL_KEY).await? {
        Some(key) => Seal::new(key),
        None => Seal::derived_from(secret.last()),
    };
    Ok(WebhookAuth::Required(
        Verifier::new(
            SecretString::from(""),
            optional(src, "VONAGE_API_KEY"),
            max_age,
        )
        .rotating(secret)
        .sealing(seal)
        .for_application(match resolve(src, WEBHOOK_APPLICATION_ID).await? {
            Some(id) => Some(id.expose_secret().to_owned()),
            None => application_id(src).await?,
        })
        .webhooks(WebhookMethods::from_source(src)?),
    ))
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
