//! Everything the warning function reads from its environment, read once at start.

use lambda_runtime::Error;
use shared::config::{ConfigError, Env, Source, VoiceConfig};
use shared::runtime::Start;
use shared::secrets::{PRIVATE_KEY, application_id, resolve};
use shared::vonage::VoiceClient;

use crate::Deps;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The Voice API's settings but the application's id and key, which each build reads.
    pub voice: VoiceConfig,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            voice: VoiceConfig::without_credentials(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        let (Some(id), Some(key)) = (
            application_id(&Env).await?,
            resolve(&Env, PRIVATE_KEY).await?,
        ) else {
            return Err("the application's id and private key are not in the secret yet".into());
        };
        Ok(Deps {
            voice: VoiceClient::new(&VoiceConfig {
                application_id: id,
                private_key: key,
                ..self.voice.clone()
            })?,
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
            ("VONAGE_VOICE_URL", "http://127.0.0.1:4623/"),
            ("VONAGE_TIMEOUT_MS", "2000"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.voice.voice_url, "http://127.0.0.1:4623");
        assert_eq!(s.voice.timeout, std::time::Duration::from_millis(2000));
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("VONAGE_TIMEOUT_MS", "soon"),
                ("VONAGE_MAX_RETRIES", "many"),
            ],
        );
    }
}
