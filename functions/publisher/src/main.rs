//! Wiring only: the settings read once, the EventBridge client once per execution
//! environment, then the batches.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use publisher::{Settings, handle};
use shared::config::Env;
use shared::runtime::Start;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = &Settings::from_source(&Env)?.build().await?;
    run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| async move {
            let (response, report) = handle(deps, event.payload).await;
            tracing::info!(?report, "stream batch published");
            Ok::<_, Error>(response)
        },
    ))
    .await
}
