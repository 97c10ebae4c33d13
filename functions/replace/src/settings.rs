//! Everything the replacement of flagged numbers reads from its environment, read once at start.

use lambda_runtime::Error;
use shared::config::{
    AutoRent, ConfigError, Env, Source, StoreConfig, VonageConfig, quarantine_flagged,
};
use shared::runtime::Start;
use shared::secrets::{application_id, vonage_client};

use crate::Deps;

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreConfig,
    /// Every Vonage setting but the API secret, which each build reads.
    pub vonage: VonageConfig,
    /// `AUTO_RENT` and its ceiling; off: nothing is rented.
    pub auto_rent: Option<AutoRent>,
    /// `QUARANTINE_FLAGGED`; off: a flagged number stays in service and is not replaced.
    pub quarantine_flagged: bool,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreConfig::from_source(src)?,
            vonage: VonageConfig::without_secret(src)?,
            auto_rent: AutoRent::from_source(src)?,
            quarantine_flagged: quarantine_flagged(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            vonage: vonage_client(&self.vonage, &Env).await?,
            application_id: application_id(&Env).await?,
            auto_rent: self.auto_rent.clone(),
            quarantine_flagged: self.quarantine_flagged,
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
            ("VONAGE_API_KEY", "abcd1234"),
            ("VONAGE_NUMBERS_URL", "http://127.0.0.1:4011/"),
            ("AUTO_RENT", "true"),
            ("AUTO_RENT_MAX_PER_COUNTRY", "3"),
            ("QUARANTINE_FLAGGED", "true"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.vonage.numbers_url, "http://127.0.0.1:4011");
        assert_eq!(s.auto_rent.map(|a| a.max_per_country), Some(3));
        assert!(s.quarantine_flagged);
        let off = MapSource::new(&[("TABLE_NAME", "proxy"), ("VONAGE_API_KEY", "abcd1234")]);
        let s = Settings::from_source(&off).unwrap();
        assert_eq!((s.auto_rent, s.quarantine_flagged), (None, true));
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("VONAGE_API_KEY", ""),
                ("AUTO_RENT", "sometimes"),
                ("AUTO_RENT_MAX_PER_COUNTRY", "many"),
                ("QUARANTINE_FLAGGED", "maybe"),
            ],
        );
    }
}
