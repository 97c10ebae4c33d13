//! Everything the set-up reads from its environment, read once at start.

use std::time::Duration;

use lambda_runtime::Error;
use shared::config::{ConfigError, Env, Source, StoreConfig, VonageConfig};
use shared::runtime::Start;
use shared::secrets::StackSecrets;

use crate::{Deps, Requested, SetupError};

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which is read from the stack's secret on every
    /// run.
    pub vonage: VonageConfig,
    /// What a sync applies, or why the environment does not say it (a CloudFormation request
    /// brings its own in its properties).
    pub sync: Result<Requested, String>,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
            sync: Self::sync(src),
        })
    }

    /// What a sync applies: the function's environment, which the template sets from the same
    /// parameters as the custom resource's properties.
    pub fn sync(src: &dyn Source) -> Result<Requested, String> {
        Requested::from_source(src).map_err(|e| match e {
            SetupError::Settings(why) => why,
            other => other.to_string(),
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            secret: StackSecrets::from_source(&Env, &self.store.budget).await?,
            store: shared::runtime::store(&self.store).await,
            vonage: self.vonage.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
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
            ("STORE_TIMEOUT_MS", "5000"),
            ("VONAGE_API_KEY", "abcd1234"),
            (
                "VONAGE_APPLICATIONS_URL",
                "http://127.0.0.1:4013/v2/applications/",
            ),
            ("APPLICATION_NAME", "proxy"),
            (
                "ANSWER_URL",
                "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/answer",
            ),
            (
                "FALLBACK_URL",
                "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/fallback",
            ),
            (
                "EVENT_URL",
                "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/event",
            ),
            ("PROXY_NUMBERS", "447700900001,447700900002"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.operation, Duration::from_secs(5));
        assert_eq!(
            s.vonage.applications_url,
            "http://127.0.0.1:4013/v2/applications"
        );
        let sync = s.sync.unwrap();
        assert_eq!(sync.application_name, "proxy");
        assert_eq!(sync.numbers.len(), 2);
        assert_eq!(
            sync.inbound_message_url,
            "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/inbound-message"
        );
        // The sync's settings are checked when a sync asks for them: a CloudFormation request
        // brings its own.
        let s = Settings::from_source(&env.with("ANSWER_URL", "ftp://example.com")).unwrap();
        assert!(s.sync.unwrap_err().contains("AnswerUrl"));
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("STORE_TIMEOUT_MS", "soon"),
                ("VONAGE_API_KEY", ""),
                ("VONAGE_TIMEOUT_MS", "soon"),
            ],
        );
    }
}
