//! Everything the conversations API reads from its environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    CallConfig, ConfigError, ConversationConfig, Env, Source, StoreConfig, VoiceConfig,
    VonageConfig, request_timeout,
};
use shared::problem::error_chain;
use shared::runtime::Start;
use shared::secrets::{PRIVATE_KEY, application_id, resolve, vonage_client};
use shared::signature::webhook_auth;
use shared::vonage::VoiceClient;

use crate::calls::Calls;
use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which each build reads.
    pub vonage: VonageConfig,
    pub conversations: ConversationConfig,
    /// What a call `POST /conversations/{id}/calls` starts hears and how long it rings, as the
    /// answer webhook's connect.
    pub call: CallConfig,
    /// The Voice API's settings (`VONAGE_VOICE_URL`, ...) but the application's id and key,
    /// which each build reads.
    pub voice: VoiceConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
            conversations: ConversationConfig::from_source(src)?,
            call: CallConfig::from_source(src)?,
            voice: VoiceConfig::without_credentials(src)?,
        })
    }

    /// Click-to-call's Voice API, signing with the application's key where the secret holds it
    /// (`None` before the set-up has put it there), and the webhooks' seal, which the event
    /// webhook opens.
    async fn calls(&self, src: &dyn Source) -> Result<Option<Calls>, Error> {
        let seal = webhook_auth(src).await?.seal();
        let (Some(id), Some(key)) = (application_id(src).await?, resolve(src, PRIVATE_KEY).await?)
        else {
            return Ok(None);
        };
        Ok(VoiceClient::new(&VoiceConfig {
            application_id: id,
            private_key: key,
            ..self.voice.clone()
        })
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "no click-to-call: the application's key cannot be used"))
        .ok()
        .map(|voice| Calls {
            voice,
            call: self.call.clone(),
            seal,
        }))
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            vonage: vonage_client(&self.vonage, &Env).await?,
            conversations: self.conversations.clone(),
            application_id: application_id(&Env).await?,
            calls: self.calls(&Env).await?,
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
            ("STORE_MAX_ATTEMPTS", "2"),
            ("REQUEST_TIMEOUT_MS", "9000"),
            ("VONAGE_API_KEY", "abcd1234"),
            ("VONAGE_SMS_URL", "http://127.0.0.1:4010/sms/"),
            ("NUMBER_CHECK", "local"),
            ("DEFAULT_TTL_SECONDS", "600"),
            ("RETENTION_DAYS", "7"),
            ("STICKY_NUMBERS", "true"),
            ("ACCESS_CODES", "true"),
            ("ACCESS_CODE_DIGITS", "4"),
            ("QUARANTINE_FLAGGED", "false"),
            ("VONAGE_VOICE_URL", "http://127.0.0.1:4623/"),
            ("RING_TIMEOUT_SECONDS", "25"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_millis(9000));
        assert_eq!(
            (s.store.table.as_str(), s.store.budget.max_attempts),
            ("proxy", 2)
        );
        assert_eq!(s.vonage.api_key, "abcd1234");
        assert_eq!(s.vonage.sms_url, "http://127.0.0.1:4010/sms");
        assert_eq!(
            s.vonage.number_check,
            shared::config::NumberCheckMode::Local
        );
        assert_eq!(s.conversations.default_ttl_seconds, 600);
        assert_eq!(s.conversations.retention.seconds, 7 * 24 * 3600);
        assert!(s.conversations.sticky);
        assert_eq!(s.conversations.access_codes, Some(4));
        assert!(!s.conversations.quarantine_flagged);
        assert_eq!(s.voice.voice_url, "http://127.0.0.1:4623");
        assert_eq!(s.call.ring_timeout_seconds, 25);
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("STORE_ATTEMPT_TIMEOUT_MS", "0"),
                ("VONAGE_API_KEY", ""),
                ("VONAGE_TIMEOUT_MS", "soon"),
                ("NUMBER_CHECK", "guess"),
                ("MESSAGING_API", "fax"),
                ("DEFAULT_TTL_SECONDS", "5"),
                ("RETENTION_DAYS", "forever"),
                ("ACCESS_CODE_DIGITS", "12"),
                ("MISSED_CALL", "shout"),
                ("QUARANTINE_FLAGGED", "sometimes"),
                ("RING_TIMEOUT_SECONDS", "long"),
                ("CALL_LIMIT_SECONDS", "9000"),
            ],
        );
    }
}
