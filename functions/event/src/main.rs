//! Wiring only: configuration and clients once per execution environment (on the first call,
//! so start-up makes no network request), then the handler.

use event::{Deps, handle};
use lambda_http::{Error, run, service_fn};
use shared::config::{ConfigError, ConversationConfig, Env, table_name, webhook_auth};
use shared::problem::ApiError;
use shared::secrets::{SIGNATURE_SECRET, resolve};
use shared::store::Store;
use tokio::sync::OnceCell;

async fn deps() -> Result<Deps, ConfigError> {
    let secret = resolve(&Env, SIGNATURE_SECRET).await?;
    Ok(Deps {
        store: Store::from_env(table_name(&Env)?).await,
        auth: webhook_auth(&Env, secret)?,
        retention_seconds: ConversationConfig::from_source(&Env)?.retention_seconds,
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
            Err(e) => Ok(ApiError::internal(e).into_response()),
        }
    }))
    .await
}
