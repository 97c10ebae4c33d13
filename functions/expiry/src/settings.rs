//! Everything the expiry sweep reads from its environment, read once at start.

use std::time::Duration;

use lambda_runtime::Error;
use shared::config::{
    ConfigError, ConversationConfig, Env, ExpiryConfig, Source, StoreConfig, Texts, VonageConfig,
};
use shared::domain::conversation::ClosePolicy;
use shared::runtime::Start;
use shared::secrets::vonage_client;

use crate::{Deps, Notify};

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreConfig,
    /// Retention and cool-off, as `DELETE` closes with.
    pub closing: ClosePolicy,
    pub expiry: ExpiryConfig,
    /// Every Vonage setting but the API secret, when participants are told (`EXPIRY_NOTIFY`).
    pub vonage: Option<VonageConfig>,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let texts = Texts::from_source(src)?;
        let closing = ClosePolicy::from(&ConversationConfig::with_texts(src, &texts)?);
        let expiry = ExpiryConfig::with_texts(src, &texts)?;
        Ok(Self {
            vonage: match expiry.notify_template {
                Some(_) => Some(VonageConfig::without_secret(src)?),
                None => None,
            },
            store: StoreConfig::from_source(src)?,
            closing,
            expiry,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        let notify = match (&self.expiry.notify_template, &self.vonage) {
            (Some(template), Some(vonage)) => Some(Notify {
                vonage: vonage_client(vonage, &Env).await?,
                template: template.clone(),
                texts: self.expiry.texts.clone(),
            }),
            _ => None,
        };
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            closing: self.closing,
            max_per_run: self.expiry.max_per_run,
            concurrency: self.expiry.concurrency,
            safety_margin: Duration::from_secs(3),
            notify,
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
            ("STORE_MAX_ATTEMPTS", "5"),
            ("RETENTION_DAYS", "4"),
            ("COOL_OFF_SECONDS", "120"),
            ("EXPIRY_MAX_PER_RUN", "100"),
            ("EXPIRY_CONCURRENCY", "2"),
            ("EXPIRY_NOTIFY", "true"),
            ("VONAGE_API_KEY", "abcd1234"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.max_attempts, 5);
        assert_eq!(s.closing.retention.seconds, 4 * 24 * 3600);
        assert_eq!(s.closing.cool_off_seconds, 120);
        assert_eq!((s.expiry.max_per_run, s.expiry.concurrency), (100, 2));
        assert!(s.expiry.notify_template.is_some());
        assert_eq!(
            s.vonage.as_ref().map(|v| v.api_key.as_str()),
            Some("abcd1234")
        );
        // Without the end-of-conversation text, no Vonage setting is needed.
        let quiet = env.without("EXPIRY_NOTIFY").without("VONAGE_API_KEY");
        assert!(Settings::from_source(&quiet).unwrap().vonage.is_none());
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("STORE_MAX_ATTEMPTS", "0"),
                ("RETENTION_DAYS", "soon"),
                ("COOL_OFF_SECONDS", "soon"),
                ("EXPIRY_MAX_PER_RUN", "all"),
                ("EXPIRY_CONCURRENCY", "-2"),
                ("EXPIRY_NOTIFY", "perhaps"),
                ("VONAGE_API_KEY", ""),
                ("EXPIRY_SMS_TEMPLATE", "Bye {nobody}"),
            ],
        );
    }
}
