//! Wiring only: the EventBridge client once per execution environment, then the batches.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use publisher::{Deps, EventBridge, handle};
use shared::config::{AwsBudget, Env, Source};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let bus_name = Env
        .get("EVENT_BUS_NAME")
        .ok_or("EVENT_BUS_NAME is not set")?;
    let config = shared::aws::sdk_config(&AwsBudget::from_source(&Env)?).await;
    let deps = Deps {
        bus: EventBridge {
            client: aws_sdk_eventbridge::Client::new(&config),
            bus_name,
        },
    };
    let deps = &deps;
    run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| async move {
            let (response, report) = handle(deps, event.payload).await;
            tracing::info!(?report, "stream batch published");
            Ok::<_, Error>(response)
        },
    ))
    .await
}
