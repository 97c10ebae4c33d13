//! The operator console's settings: its Cognito user pool and app client, and how its session
//! cookie is sent.

use super::{ConfigError, Source, base_url, number, optional, required};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// `CONSOLE_USER_POOL_ID`: the pool people sign in against.
    pub user_pool_id: String,
    /// `CONSOLE_CLIENT_ID`: its app client (no secret; user name and password sign-in).
    pub client_id: String,
    /// `AWS_REGION`: the pool's region, which names the tokens' issuer.
    pub region: String,
    /// `CONSOLE_SECURE_COOKIE` (default `true`): the session cookie is `Secure`; `false` only
    /// for the local stack, served over plain HTTP.
    pub secure_cookie: bool,
    /// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`: a local Cognito stand-in, which serves the
    /// pool's keys at `{endpoint}/{pool}/.well-known/jwks.json`.
    pub cognito_endpoint: Option<String>,
}

impl ConsoleConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let user_pool_id = required(src, "CONSOLE_USER_POOL_ID")?;
        let region = optional(src, "AWS_REGION")
            .or_else(|| optional(src, "AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::Missing("AWS_REGION"))?;
        // A pool id is `{region}_{id}`: one from another region cannot be this stack's.
        if !user_pool_id.starts_with(&format!("{region}_")) {
            return Err(ConfigError::Invalid {
                name: "CONSOLE_USER_POOL_ID",
                reason: format!("{user_pool_id} is not a user pool of {region}"),
            });
        }
        Ok(Self {
            user_pool_id,
            client_id: required(src, "CONSOLE_CLIENT_ID")?,
            region,
            secure_cookie: number(src, "CONSOLE_SECURE_COOKIE", true)?,
            cognito_endpoint: optional(src, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
                .map(|_| base_url(src, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "")),
        })
    }

    /// The `iss` of the pool's tokens.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }

    /// Where the pool's signing keys are published.
    pub fn jwks_url(&self) -> String {
        match &self.cognito_endpoint {
            Some(endpoint) => format!("{endpoint}/{}/.well-known/jwks.json", self.user_pool_id),
            None => format!("{}/.well-known/jwks.json", self.issuer()),
        }
    }
}
