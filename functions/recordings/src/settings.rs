//! Everything the recording webhook reads from its environment, read once at start.

use std::time::Duration;

use lambda_http::Error;
use shared::config::{
    ConfigError, Env, RecordingConfig, Source, StoreConfig, VoiceConfig, WebhookMethods,
    request_timeout,
};
use shared::domain::Retention;
use shared::files::Bucket;
use shared::runtime::Start;
use shared::secrets::{PRIVATE_KEY, application_id, require};
use shared::signature::webhook_auth;
use shared::vonage::VoiceClient;

use crate::{DEFAULT_TIMEOUT, Deps};

#[derive(Debug, Clone)]
pub struct Settings {
    /// One request's budget (`REQUEST_TIMEOUT_MS`).
    pub timeout: Duration,
    pub store: StoreConfig,
    pub recordings: RecordingConfig,
    /// The Voice API's settings but the application's id and key, which each build reads.
    pub voice: VoiceConfig,
    pub methods: WebhookMethods,
    pub retention: Retention,
}

impl Settings {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            timeout: request_timeout(src, DEFAULT_TIMEOUT)?,
            store: StoreConfig::from_source(src)?,
            recordings: RecordingConfig::from_source(src)?,
            voice: VoiceConfig::without_credentials(src)?,
            methods: WebhookMethods::from_source(src)?,
            retention: Retention::from_source(src)?,
        })
    }
}

impl Start for Settings {
    type Deps = Deps;

    async fn build(&self) -> Result<Deps, Error> {
        let voice = VoiceConfig {
            application_id: application_id(&Env)
                .await?
                .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?,
            private_key: require(&Env, PRIVATE_KEY).await?,
            ..self.voice.clone()
        };
        Ok(Deps {
            store: shared::runtime::store(&self.store).await,
            files: Bucket::from_env(&self.recordings).await,
            voice: VoiceClient::new(&voice)?,
            auth: webhook_auth(&Env).await?,
            methods: self.methods,
            retention: self.retention,
            link: Duration::from_secs(self.recordings.link_seconds),
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
            ("REQUEST_TIMEOUT_MS", "20000"),
            ("RECORDINGS_BUCKET", "proxy-recordings"),
            ("RECORDING_LINK_SECONDS", "600"),
            ("RECORDING_MAX_BYTES", "1048576"),
            ("VONAGE_FILES_URL", "http://127.0.0.1:4012/v1/files/"),
            ("WEBHOOK_METHODS", "post"),
            ("RETENTION_DAYS", "10"),
        ]);
        let s = Settings::from_source(&env).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(20));
        assert_eq!(s.store.table, "proxy");
        assert_eq!(s.recordings.bucket, "proxy-recordings");
        assert_eq!(s.recordings.link_seconds, 600);
        assert!(!s.recordings.path_style);
        assert_eq!(s.voice.max_recording_bytes, 1 << 20);
        assert_eq!(s.voice.files_url, "http://127.0.0.1:4012/v1/files");
        assert_eq!(s.methods, WebhookMethods::Post);
        assert_eq!(s.retention.seconds, 10 * 24 * 3600);
        assert_refused(
            Settings::from_source,
            &env,
            &[
                ("TABLE_NAME", ""),
                ("REQUEST_TIMEOUT_MS", "soon"),
                ("STORE_MAX_ATTEMPTS", "none"),
                ("RECORDINGS_BUCKET", ""),
                ("RECORDING_LINK_SECONDS", "0"),
                ("RECORDING_MAX_BYTES", "big"),
                ("VONAGE_TIMEOUT_MS", "soon"),
                ("WEBHOOK_METHODS", "get"),
                ("RETENTION_DAYS", "soon"),
            ],
        );
    }
}
