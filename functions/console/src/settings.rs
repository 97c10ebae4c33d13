//! Everything the console reads from its environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    ConfigError, ConsoleConfig, ConversationConfig, RecordingConfig, Source, StoreConfig,
    request_timeout,
};
use shared::files::Bucket;
use shared::runtime::Start;
use shared::store::Store;

use crate::auth::Verifier;
use crate::signin::Cognito;
use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    pub console: ConsoleConfig,
    /// Lifetimes (reopen, the longest extension), retention and cool-off, as the API closes.
    pub conversations: ConversationConfig,
    pub recordings: RecordingConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            console: ConsoleConfig::from_source(src)?,
            conversations: ConversationConfig::from_source(src)?,
            recordings: RecordingConfig::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps<Store, Cognito, Bucket>;

    async fn build(&self) -> Result<Self::Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            identity: Cognito::from_env(&self.console.client_id).await,
            files: Bucket::from_env(&self.recordings).await,
            verifier: Verifier::new(&self.console),
            console: self.console.clone(),
            conversations: self.conversations.clone(),
            link: Duration::from_secs(self.recordings.link_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{MapSource, assert_refused};

    #[test]
    fn the_settings_are_read_whole_and_a_bad_one_is_named() {
        let env = MapSource::new(&[
            ("TABLE_NAME", "proxy"),
            ("REQUEST_TIMEOUT_MS", "8000"),
            ("AWS_REGION", "eu-west-1"),
            ("CONSOLE_USER_POOL_ID", "eu-west-1_Abc123"),
            ("CONSOLE_CLIENT_ID", "client123"),
            ("CONSOLE_SECURE_COOKIE", "false"),
            ("RECORDINGS_BUCKET", "proxy-recordings"),
            ("MAX_TTL_SECONDS", "86400"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(8));
        assert_eq!(
            s.console.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123"
        );
        assert_eq!(
            s.console.jwks_url(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123/.well-known/jwks.json"
        );
        assert!(!s.console.secure_cookie);
        assert_eq!(s.conversations.max_ttl_seconds, 86_400);
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("CONSOLE_USER_POOL_ID", ""),
                ("CONSOLE_USER_POOL_ID", "us-east-1_Abc123"),
                ("CONSOLE_CLIENT_ID", ""),
                ("CONSOLE_SECURE_COOKIE", "sometimes"),
                ("RECORDINGS_BUCKET", ""),
                ("MAX_TTL_SECONDS", "long"),
            ],
        );
    }

    #[test]
    fn a_local_pool_publishes_its_keys_at_the_stand_in() {
        let env = MapSource::new(&[
            ("AWS_REGION", "us-east-1"),
            ("CONSOLE_USER_POOL_ID", "us-east-1_Local"),
            ("CONSOLE_CLIENT_ID", "local"),
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                "http://127.0.0.1:8000/",
            ),
        ]);
        let c = ConsoleConfig::from_source(&env).unwrap();
        assert!(c.secure_cookie, "Secure unless turned off");
        assert_eq!(
            c.jwks_url(),
            "http://127.0.0.1:8000/us-east-1_Local/.well-known/jwks.json"
        );
        assert_eq!(
            c.issuer(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Local"
        );
    }
}
