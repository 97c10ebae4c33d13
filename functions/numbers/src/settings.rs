//! Everything the numbers API reads from its environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{ConfigError, Env, Source, StoreConfig, VonageConfig, request_timeout};
use shared::runtime::Start;
use shared::secrets::{application_id, vonage_client};

use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which each build reads.
    pub vonage: VonageConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        let application_id = application_id(&Env)
            .await?
            .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?;
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            vonage: vonage_client(&self.vonage, &Env).await?,
            application_id,
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
            ("STORE_CONNECT_TIMEOUT_MS", "200"),
            ("REQUEST_TIMEOUT_MS", "20000"),
            ("VONAGE_API_KEY", "abcd1234"),
            ("VONAGE_NUMBERS_URL", "http://127.0.0.1:4011/"),
            ("VONAGE_MAX_RETRIES", "0"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(20));
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.connect, Duration::from_millis(200));
        assert_eq!(s.vonage.api_key, "abcd1234");
        assert_eq!(s.vonage.numbers_url, "http://127.0.0.1:4011");
        assert_eq!(s.vonage.max_retries, 0);
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "-1"),
                ("STORE_CONNECT_TIMEOUT_MS", "soon"),
                ("VONAGE_API_KEY", ""),
                ("VONAGE_MAX_RETRIES", "many"),
            ],
        );
    }
}
