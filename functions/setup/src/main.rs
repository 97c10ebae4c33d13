//! Wiring only: the settings read once, clients once per execution environment, then each
//! event: a CloudFormation custom resource request (answered at its pre-signed URL), or
//! `{"action": "sync"}` from `scripts/put-secret` (answered with what was done).

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use setup::{Settings, handle};
use shared::config::Env;
use shared::runtime::{Start, time_left};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let settings = &Settings::from_source(&Env)?;
    let deps = Arc::new(settings.build().await?);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = deps.clone();
        async move {
            let deadline = tokio::time::Instant::now() + time_left(event.context.deadline);
            Ok::<_, Error>(handle(deps, event.payload, deadline, &settings.sync).await?)
        }
    }))
    .await
}
