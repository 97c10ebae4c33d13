//! Wiring only: dependencies built once per execution environment, then the handler.

use lambda_http::Error;
use recordings::Deps;
use shared::config::{
    AwsBudget, Env, RecordingConfig, VoiceConfig, WebhookMethods, request_timeout, table_name,
};
use shared::domain::Retention;
use shared::files::Bucket;
use shared::runtime::{Service, serve, webhook_fallback};
use shared::secrets::{PRIVATE_KEY, application_id, require};
use shared::signature::webhook_auth;
use shared::store::Store;
use shared::vonage::VoiceClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let recordings = RecordingConfig::from_source(&Env)?;
        let application =
            application_id(&Env)
                .await?
                .ok_or(shared::config::ConfigError::Missing(
                    "VONAGE_APPLICATION_ID",
                ))?;
        let voice = VoiceConfig::from_source(&Env, application, require(&Env, PRIVATE_KEY).await?)?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            files: Bucket::from_env(&recordings).await,
            voice: VoiceClient::new(&voice)?,
            auth: webhook_auth(&Env).await?,
            methods: WebhookMethods::from_source(&Env)?,
            retention: Retention::from_source(&Env)?,
            link: std::time::Duration::from_secs(recordings.link_seconds),
        })
    };
    let timeout = request_timeout(&Env, recordings::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, webhook_fallback, timeout)).await
}
