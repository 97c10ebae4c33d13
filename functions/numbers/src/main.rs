//! Wiring only: configuration and clients once per execution environment, then the handler.

use lambda_http::{Error, run, service_fn};
use numbers::{Deps, handle};
use shared::config::{ConfigError, Env, VonageConfig, table_name};
use shared::store::Store;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let vonage = VonageConfig::from_source(&Env)?;
    let application_id = vonage
        .application_id
        .clone()
        .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?;
    let deps = Deps {
        store: Store::from_env(table_name(&Env)?).await,
        vonage: VonageClient::new(&vonage)?,
        application_id,
    };
    let deps = &deps;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(deps, req).await)
    }))
    .await
}
