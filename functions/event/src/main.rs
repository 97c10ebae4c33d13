//! Wiring only: configuration and clients once per execution environment, then the handler.

use event::{Deps, handle};
use lambda_http::{Error, run, service_fn};
use shared::config::{ConversationConfig, Env, table_name};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps {
        store: Store::from_env(table_name(&Env)?).await,
        retention_seconds: ConversationConfig::from_source(&Env)?.retention_seconds,
    };
    let deps = &deps;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(deps, req).await)
    }))
    .await
}
