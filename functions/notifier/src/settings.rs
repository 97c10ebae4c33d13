//! Everything the notifier reads from its environment, read once at start.

use std::time::Duration;

use lambda_runtime::Error;
use shared::config::{ConfigError, Env, NotifyConfig, Source, StoreConfig, VonageConfig};
use shared::runtime::Start;
use shared::secrets::vonage_client;

use crate::Deps;

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which each build reads.
    pub vonage: VonageConfig,
    pub notify: NotifyConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
            notify: NotifyConfig::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            vonage: vonage_client(&self.vonage, &Env).await?,
            notify: self.notify.clone(),
            pause: Duration::from_secs(1),
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
            ("STORE_TIMEOUT_MS", "4000"),
            ("VONAGE_API_KEY", "abcd1234"),
            ("PUBLIC_BASE_URL", "https://proxy.example.com"),
            ("NOTIFY_SMS_TEMPLATE", "Call {other} on {proxy}"),
            ("NOTIFY_RETRY_SECONDS", "60"),
            ("RETENTION_DAYS", "5"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.operation, Duration::from_secs(4));
        assert_eq!(
            s.vonage.public_base_url.as_deref(),
            Some("https://proxy.example.com")
        );
        assert_eq!(s.notify.template, "Call {other} on {proxy}");
        assert_eq!(s.notify.give_up_after_seconds, 60);
        assert_eq!(s.notify.retention.seconds, 5 * 24 * 3600);
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("STORE_TIMEOUT_MS", "soon"),
                ("VONAGE_API_KEY", ""),
                ("NUMBER_CHECK", "guess"),
                ("NOTIFY_SMS_TEMPLATE", "Call {nobody}"),
                ("NOTIFY_RETRY_SECONDS", "later"),
                ("RETENTION_DAYS", "soon"),
            ],
        );
    }
}
