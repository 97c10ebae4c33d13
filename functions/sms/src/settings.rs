//! Everything the SMS webhooks read from their environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    ConfigError, Env, HookConfig, SmsConfig, Source, StoreConfig, Texts, VonageConfig,
    request_timeout,
};
use shared::hook::Hooks;
use shared::runtime::Start;
use shared::secrets::vonage_client;
use shared::signature::webhook_auth;
use shared::sms_signature::sms_auth;

use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which each build reads.
    pub vonage: VonageConfig,
    pub sms: SmsConfig,
    pub hooks: HookConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
            sms: SmsConfig::with_texts(src, &Texts::from_source(src)?)?,
            hooks: HookConfig::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            vonage: vonage_client(&self.vonage, &Env).await?,
            auth: sms_auth(&Env).await?,
            jwt: webhook_auth(&Env).await?,
            sms: self.sms.clone(),
            hooks: Hooks::from_config(&self.hooks, &Env).await?,
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
            ("REQUEST_TIMEOUT_MS", "5000"),
            ("VONAGE_API_KEY", "abcd1234"),
            ("MESSAGING_API", "sms"),
            ("SMS_UNKNOWN_REPLY", "true"),
            ("RETENTION_DAYS", "3"),
            ("ACCESS_CODES", "true"),
            ("OUT_OF_SESSION_URL", "https://backend.example.com/oos"),
            ("HOOK_TIMEOUT_MS", "900"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.vonage.messaging, shared::config::MessagingApi::Sms);
        assert!(s.sms.unknown_reply.is_some());
        assert_eq!(s.sms.retention.seconds, 3 * 24 * 3600);
        assert_eq!(s.sms.codes.as_ref().map(|c| c.digits), Some(6));
        assert_eq!(
            s.hooks.out_of_session_url.as_deref(),
            Some("https://backend.example.com/oos")
        );
        assert_eq!(s.hooks.timeout, Duration::from_millis(900));
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("STORE_TIMEOUT_MS", "soon"),
                ("VONAGE_API_KEY", ""),
                ("MESSAGING_API", "fax"),
                ("SMS_UNKNOWN_REPLY", "perhaps"),
                ("RETENTION_DAYS", "a week"),
                ("ACCESS_CODE_DIGITS", "2"),
                ("INTERCEPT_URL", "http://backend.example.com/intercept"),
                ("HOOK_TIMEOUT_MS", "0"),
                ("SMS_OPT_OUT_TEXT", "Bye {name}"),
            ],
        );
    }
}
