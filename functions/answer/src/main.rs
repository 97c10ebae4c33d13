//! Wiring only: configuration and clients once per execution environment, then the handler.

use answer::{Deps, handle};
use lambda_http::{Error, run, service_fn};
use shared::config::{CallConfig, Env, table_name};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps {
        routes: Store::from_env(table_name(&Env)?).await,
        call: CallConfig::from_source(&Env)?,
    };
    let deps = &deps;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(deps, req).await)
    }))
    .await
}
