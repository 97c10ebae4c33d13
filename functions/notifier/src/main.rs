//! Wiring only: configuration and clients, built again as `shared::runtime::Rebuilt` says, then
//! the batches.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use notifier::{Deps, handle};
use std::time::Duration;

use shared::config::{AwsBudget, Env, NotifyConfig, table_name};
use shared::runtime::Rebuilt;
use shared::secrets::vonage_client;
use shared::store::Store;
use shared::stream::Batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Rebuilt::new(|| async {
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: vonage_client(&Env).await?,
            notify: NotifyConfig::from_source(&Env)?,
            pause: Duration::from_secs(1),
        })
    });
    let deps = &deps;
    run(service_fn(move |event: LambdaEvent<Batch>| async move {
        let deps = deps.get(Duration::from_secs(5)).await?;
        let (response, report) = handle(&deps, event.payload).await;
        tracing::info!(?report, "stream batch notified");
        Ok::<_, Error>(response)
    }))
    .await
}
