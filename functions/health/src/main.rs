//! Wiring only: the settings read once, the dependencies built from them as
//! `shared::runtime::Invoked` says, then the batches.

use health::{Settings, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::config::Env;
use shared::runtime::Invoked;
use shared::stream::Batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = &Invoked::start(Settings::from_source(&Env));
    run(service_fn(move |event: LambdaEvent<Batch>| async move {
        let (response, report) = handle(&*deps.get().await?, event.payload).await;
        tracing::info!(?report, "stream batch counted for number health");
        Ok::<_, Error>(response)
    }))
    .await
}
