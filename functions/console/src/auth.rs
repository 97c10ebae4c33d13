//! Who is asking: the session cookie's token, checked against the user pool's keys on every
//! request, and the CSRF token each form carries, bound to that session.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::Sha256;
use shared::config::ConsoleConfig;
use tokio::sync::RwLock;

/// The session cookie's name.
pub const COOKIE: &str = "console_session";

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Looks things up; never sees a real number.
    Agent,
    /// As an agent, and closes, extends, reopens and reveals.
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
        }
    }
}

/// A signed-in person, from a token the pool signed.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub role: Role,
    /// The token itself, which the CSRF tokens are bound to.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Session {
    /// The CSRF token of this session: an HMAC of a fixed label keyed by the session's own
    /// token, which a page of another site can neither read nor compute.
    pub fn csrf(&self) -> String {
        csrf_of(&self.token)
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.csrf().as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

fn csrf_of(token: &str) -> String {
    use base64::Engine as _;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"voice-proxy console csrf");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("no session")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the pool's keys could not be read: {0}")]
    Keys(String),
    #[error("the user is in neither the agents nor the supervisors group")]
    NoGroup,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(rename = "cognito:username")]
    username: String,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
    token_use: String,
    exp: i64,
}

/// Checks tokens against the pool's published keys, fetched once and again when a token names
/// a key not yet seen (the pool rotated them).
pub struct Verifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    http: reqwest::Client,
    keys: RwLock<Arc<JwkSet>>,
}

impl Verifier {
    pub fn new(config: &ConsoleConfig) -> Self {
        Self::with_keys(config, JwkSet { keys: Vec::new() })
    }

    /// A verifier that starts with `keys` (and fetches again only for a key it lacks).
    pub fn with_keys(config: &ConsoleConfig, keys: JwkSet) -> Self {
        Self {
            issuer: config.issuer(),
            client_id: config.client_id.clone(),
            jwks_url: config.jwks_url(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            keys: RwLock::new(Arc::new(keys)),
        }
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        let find = |set: &JwkSet| set.find(kid).map(DecodingKey::from_jwk);
        let known = self.keys.read().await.clone();
        if let Some(key) = find(&known) {
            return key.map_err(|e| Refused::Keys(e.to_string()));
        }
        let fetched: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Refused::Keys(e.to_string()))?
            .json()
            .await
            .map_err(|e| Refused::Keys(e.to_string()))?;
        let key = find(&fetched);
        *self.keys.write().await = Arc::new(fetched);
        match key {
            Some(key) => key.map_err(|e| Refused::Keys(e.to_string())),
            None => Err(Refused::Invalid(format!("no key {kid} in the pool's keys"))),
        }
    }

    /// The session `token` stands for: an ID token of this pool and app client, signed with
    /// one of the pool's keys, unexpired, of a user in `agents` or `supervisors`.
    pub async fn verify(&self, token: &str) -> Result<Session, Refused> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Refused::Invalid(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Refused::Invalid(format!("{:?} is not RS256", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| Refused::Invalid("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| Refused::Invalid(e.to_string()))?
            .claims;
        if claims.token_use != "id" {
            return Err(Refused::Invalid(format!(
                "an {} token, not an ID token",
                claims.token_use
            )));
        }
        let role = if claims.groups.iter().any(|g| g == "supervisors") {
            Role::Supervisor
        } else if claims.groups.iter().any(|g| g == "agents") {
            Role::Agent
        } else {
            return Err(Refused::NoGroup);
        };
        Ok(Session {
            username: claims.username,
            role,
            token: token.to_owned(),
            expires_at: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session_alone() {
        let session = |token: &str| Session {
            username: "ann".into(),
            role: Role::Agent,
            token: token.into(),
            expires_at: 0,
        };
        let (a, b) = (session("token-a"), session("token-b"));
        assert!(a.csrf_matches(&a.csrf()));
        assert!(!a.csrf_matches(&b.csrf()));
        assert!(!a.csrf_matches(""));
        assert_eq!(a.csrf(), session("token-a").csrf(), "stable for a session");
    }
}
