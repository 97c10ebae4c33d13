//! Everything the publisher reads from its environment, read once at start.

use lambda_runtime::Error;
use shared::config::{AwsBudget, ConfigError, Source};
use shared::runtime::Start;

use crate::{Deps, EventBridge};

#[derive(Debug, Clone)]
pub struct Settings {
    /// `EVENT_BUS_NAME`: the bus events are put on.
    pub bus_name: String,
    /// The budget of each `PutEvents`.
    pub budget: AwsBudget,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            bus_name: src
                .get("EVENT_BUS_NAME")
                .ok_or(ConfigError::Missing("EVENT_BUS_NAME"))?,
            budget: AwsBudget::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        let config = shared::aws::sdk_config(&self.budget).await;
        Ok(Deps {
            bus: EventBridge {
                client: aws_sdk_eventbridge::Client::new(&config),
                bus_name: self.bus_name.clone(),
            },
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
        let env = MapSource::new(&[
            ("EVENT_BUS_NAME", "proxy-events"),
            ("STORE_ATTEMPT_TIMEOUT_MS", "400"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.bus_name, "proxy-events");
        assert_eq!(s.budget.attempt, Duration::from_millis(400));
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("EVENT_BUS_NAME", ""),
                ("STORE_ATTEMPT_TIMEOUT_MS", "soon"),
                ("STORE_MAX_ATTEMPTS", "0"),
            ],
        );
    }
}
