//! The application's JWT, as Identity Insights, the Messages API and the Voice API take it:
//! RS256, signed with the application's private key, claims `application_id`, `iat`, `exp` and
//! a fresh `jti` for each request. Signed in this one place for every API that takes it.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{Api, VonageError};

/// How long a token is good for (Vonage allows 30 s to 24 h).
pub const TOKEN_SECONDS: i64 = 300;

/// Why a client that signs with the application's key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the application's private key is not an RSA key in PEM")]
    Key(#[source] jsonwebtoken::errors::Error),
    #[error("the HTTP client could not be built")]
    Http(#[source] reqwest::Error),
}

#[derive(Serialize)]
struct ApplicationClaims<'a> {
    application_id: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// Signs tokens for one application. Cheap to clone.
#[derive(Clone)]
pub struct ApplicationToken {
    application_id: String,
    key: Arc<jsonwebtoken::EncodingKey>,
}

impl ApplicationToken {
    /// For the application `application_id`, with its private key in PEM.
    pub fn new(application_id: &str, private_key: &SecretString) -> Result<Self, SetupError> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
            .map_err(SetupError::Key)?;
        Ok(Self {
            application_id: application_id.to_owned(),
            key: Arc::new(key),
        })
    }

    /// A token for one request to `api`.
    pub fn sign(&self, api: Api) -> Result<String, VonageError> {
        let now = crate::now();
        let claims = ApplicationClaims {
            application_id: &self.application_id,
            iat: now,
            exp: now + TOKEN_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &self.key,
        )
        .map_err(|_| {
            VonageError::rejected(api, "token", "the application token could not be signed")
        })
    }
}
