//! Wiring only: configuration and clients once per execution environment, then the batches.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use notifier::{Deps, handle};
use std::time::Duration;

use shared::config::{AwsBudget, Env, NotifyConfig, VonageConfig, table_name};
use shared::secrets::{API_SECRET, require};
use shared::store::Store;
use shared::stream::Batch;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let secret = require(&Env, API_SECRET).await?;
    let deps = Deps {
        store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
        vonage: VonageClient::new(&VonageConfig::from_source(&Env, secret)?)?,
        notify: NotifyConfig::from_source(&Env)?,
        pause: Duration::from_secs(1),
    };
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Batch>| async move {
        let (response, report) = handle(deps, event.payload).await;
        tracing::info!(?report, "stream batch notified");
        Ok::<_, Error>(response)
    }))
    .await
}
