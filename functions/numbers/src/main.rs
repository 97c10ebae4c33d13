//! Wiring only: configuration and clients once per execution environment (on the first call,
//! so start-up makes no network request), then the handler.

use lambda_http::{Error, run, service_fn};
use numbers::{Deps, handle};
use shared::config::{ConfigError, Env, VonageConfig, table_name};
use shared::problem::ApiError;
use shared::secrets::{API_SECRET, require};
use shared::store::Store;
use shared::vonage::VonageClient;
use tokio::sync::OnceCell;

async fn deps() -> Result<Deps, Error> {
    let vonage = VonageConfig::from_source(&Env, require(&Env, API_SECRET).await?)?;
    let application_id = vonage
        .application_id
        .clone()
        .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?;
    Ok(Deps {
        store: Store::from_env(table_name(&Env)?).await,
        vonage: VonageClient::new(&vonage)?,
        application_id,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let cell = OnceCell::new();
    let cell = &cell;
    run(service_fn(move |req| async move {
        match cell.get_or_try_init(deps).await {
            Ok(deps) => Ok::<_, Error>(handle(deps, req).await),
            Err(e) => Ok(ApiError::Internal(e).into_response()),
        }
    }))
    .await
}
