//! Everything the event webhook reads from its environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    ConfigError, Env, MissedCallConfig, Source, StoreConfig, WarningConfig, WebhookMethods,
    request_timeout,
};
use shared::domain::Retention;
use shared::runtime::Start;
use shared::scheduler::Scheduler;
use shared::signature::webhook_auth;

use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    pub methods: WebhookMethods,
    pub retention: Retention,
    pub missed: MissedCallConfig,
    /// Where a call's warning before its limit is scheduled; `None`: no warnings.
    pub warnings: Option<WarningConfig>,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            methods: WebhookMethods::from_source(src)?,
            retention: Retention::from_source(src)?,
            missed: MissedCallConfig::from_source(src)?,
            warnings: WarningConfig::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            auth: webhook_auth(&Env).await?,
            methods: self.methods,
            retention: self.retention,
            missed: self.missed.clone(),
            timers: match &self.warnings {
                Some(w) => Some(Scheduler::new(w, &self.store.budget).await),
                None => None,
            },
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
            ("STORE_TIMEOUT_MS", "800"),
            ("STORE_ATTEMPT_TIMEOUT_MS", "300"),
            ("REQUEST_TIMEOUT_MS", "700"),
            ("WEBHOOK_METHODS", "any"),
            ("RETENTION_DAYS", "2"),
            ("MISSED_CALL_SMS_INTERVAL_SECONDS", "60"),
            ("PUBLIC_BASE_URL", "https://proxy.example.com/"),
            ("CALL_WARNING_SCHEDULE_GROUP", "proxy-calls"),
            (
                "CALL_WARNING_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:123456789012:function:warn",
            ),
            (
                "CALL_WARNING_ROLE_ARN",
                "arn:aws:iam::123456789012:role/proxy-warn",
            ),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_millis(700));
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.operation, Duration::from_millis(800));
        assert_eq!(s.methods, WebhookMethods::Any);
        assert_eq!(s.retention.seconds, 2 * 24 * 3600);
        assert_eq!(s.missed.quiet_seconds, 60);
        assert_eq!(
            s.warnings.as_ref().map(|w| w.group.as_str()),
            Some("proxy-calls")
        );
        assert!(
            Settings::from_source(
                &env.without("CALL_WARNING_SCHEDULE_GROUP")
                    .without("CALL_WARNING_FUNCTION_ARN")
                    .without("CALL_WARNING_ROLE_ARN")
            )
            .unwrap()
            .warnings
            .is_none(),
            "no warnings without their settings"
        );
        assert_eq!(
            s.missed.public_base_url.as_deref(),
            Some("https://proxy.example.com")
        );
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("STORE_MAX_ATTEMPTS", "0"),
                ("WEBHOOK_METHODS", "put"),
                ("RETENTION_DAYS", "a month"),
                ("MISSED_CALL_SMS_INTERVAL_SECONDS", "often"),
                ("TEXTS", "{"),
                ("CALL_WARNING_ROLE_ARN", ""),
            ],
        );
    }
}
