//! The application's JWT, as Identity Insights, the Messages API and the Voice API take it:
//! RS256, signed with the application's private key, claims `application_id`, `iat`, `exp` and
//! a fresh `jti` for each request. Signed in this one place for every API that takes it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{Api, VonageError, http_client, send_retrying};

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

/// A client for one API that takes the application's token: its base URL, a token per
/// request, a timeout, and retries with backoff. Cheap to clone.
#[derive(Clone)]
pub struct SignedClient {
    http: Client,
    url: String,
    token: ApplicationToken,
    max_retries: u32,
    backoff: Duration,
}

impl SignedClient {
    /// A client for the API at `url`, signing as `token`.
    pub fn new(
        url: &str,
        token: ApplicationToken,
        timeout: Duration,
        max_retries: u32,
    ) -> Result<Self, SetupError> {
        Ok(Self {
            http: http_client(timeout).map_err(SetupError::Http)?,
            url: url.trim_end_matches('/').to_owned(),
            token,
            max_retries,
            backoff: Duration::from_millis(100),
        })
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// `POST {url}{path}` with `body` as JSON, signed, its answer read as `T`. Retried on a
    /// `429` or `5xx`, and on a timeout or failed connection only when `idempotent`.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        api: Api,
        path: &str,
        body: &impl Serialize,
        idempotent: bool,
    ) -> Result<T, VonageError> {
        let url = format!("{}{path}", self.url);
        let token = self.token.sign(api)?;
        send_retrying(self.max_retries, self.backoff, api, idempotent, &[], || {
            self.http.post(&url).bearer_auth(&token).json(body)
        })
        .await?
        .json()
        .await
        .map_err(|e| VonageError::from_reqwest(api, e))
    }
}
