//! Everything the health consumer reads from its environment, read once at start.

use lambda_runtime::Error;
use shared::config::{ConfigError, Source, StoreConfig};
use shared::runtime::Start;

use crate::Deps;

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: StoreConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: StoreConfig::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use testkit::{MapSource, assert_refused};

    #[test]
    fn the_settings_are_read_whole_and_a_bad_one_is_named() {
        let env = MapSource::new(&[("TABLE_NAME", "proxy"), ("STORE_TIMEOUT_MS", "4000")]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.store.budget.operation, Duration::from_secs(4));
        assert_refused(
            Settings::from_source,
            &env,
            &[("TABLE_NAME", ""), ("STORE_TIMEOUT_MS", "soon")],
        );
    }
}
