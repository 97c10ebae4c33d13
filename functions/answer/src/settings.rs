//! Everything the answer webhooks read from their environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    AccessCodeConfig, CallConfig, ConfigError, ConversationConfig, Env, HookConfig, Source,
    StoreConfig, VoiceConfig, WebhookMethods, request_timeout,
};
use shared::hook::Hooks;
use shared::problem::error_chain;
use shared::runtime::Start;
use shared::secrets::{PRIVATE_KEY, application_id, resolve};
use shared::signature::webhook_auth;
use shared::store::Store;
use shared::vonage::VoiceClient;

use crate::{CallHooks, DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One call's whole budget (`REQUEST_TIMEOUT_MS`), the function's start included.
    pub timeout: Duration,
    pub store: StoreConfig,
    /// What a call hears and how long it rings.
    pub call: CallConfig,
    pub methods: WebhookMethods,
    /// TTL bounds, retention and cool-off, for the out-of-session hook's `reopen`.
    pub conversations: ConversationConfig,
    pub hooks: HookConfig,
    /// Access codes: `None` when off.
    pub codes: Option<AccessCodeConfig>,
    /// The Voice API's settings but the application's id and key, which each build reads.
    pub voice: VoiceConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            call: CallConfig::from_source(src)?,
            methods: WebhookMethods::from_source(src)?,
            conversations: ConversationConfig::from_source(src)?,
            hooks: HookConfig::from_source(src)?,
            codes: AccessCodeConfig::from_source(src)?,
            voice: VoiceConfig::without_credentials(src)?,
        })
    }
}

impl Settings {
    /// The store within its time budget, the signature secret and the hooks' secret, found
    /// where `src` says (Secrets Manager in the stack). Calls never wait on the Voice API:
    /// without a usable application key they are answered all the same.
    pub async fn build_from(&self, src: &dyn Source) -> Result<Deps<Store>, Error> {
        let voice = match (application_id(src).await?, resolve(src, PRIVATE_KEY).await?) {
            (Some(id), Some(key)) => VoiceClient::new(&VoiceConfig {
                application_id: id,
                private_key: key,
                ..self.voice.clone()
            })
            .inspect_err(|e| tracing::error!(error = %error_chain(e), "no Voice API: the application's key cannot be used"))
            .ok(),
            _ => None,
        };
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            auth: webhook_auth(src).await?,
            methods: self.methods,
            call: self.call.clone(),
            hooks: CallHooks {
                hooks: Hooks::from_config(&self.hooks, src).await?,
                conversations: self.conversations.clone(),
                budget: self.timeout,
            },
            voice,
            codes: self.codes.clone(),
        })
    }
}

impl Start for Settings {
    type Deps = Deps<Store>;

    async fn build(&self) -> Result<Deps<Store>, Error> {
        self.build_from(&Env).await
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
            ("REQUEST_TIMEOUT_MS", "1200"),
            ("WEBHOOK_METHODS", "post"),
            ("ANNOUNCEMENT_TEXT", "Putting you through."),
            ("ACCESS_CODES", "true"),
            ("ACCESS_CODE_DIGITS", "5"),
            ("INTERCEPT_URL", "https://backend.example.com/intercept"),
            ("MAX_TTL_SECONDS", "7200"),
            ("MISSED_CALL_SMS_INTERVAL_SECONDS", "300"),
            ("QUIET_HOURS_TEXT", "Your {callee} is asleep."),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_millis(1200));
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.methods, WebhookMethods::Post);
        assert_eq!(s.call.announcement, "Putting you through.");
        assert_eq!(s.codes.as_ref().map(|c| c.digits), Some(5));
        assert!(s.hooks.intercept_url.is_some());
        assert_eq!(s.conversations.max_ttl_seconds, 7200);
        assert_eq!(s.call.missed.quiet_seconds, 300);
        assert_eq!(s.call.missed.quiet_hours, "Your {callee} is asleep.");
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("WEBHOOK_METHODS", "put"),
                ("ACCESS_CODE_DIGITS", "twelve"),
                ("INTERCEPT_URL", "not a url"),
                ("TEXTS", "{"),
                ("MISSED_CALL_SMS_INTERVAL_SECONDS", "soon"),
                ("QUIET_HOURS_TEXT", "Your {driver} is asleep."),
            ],
        );
    }
}
