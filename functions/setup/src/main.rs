//! Wiring only: clients once per execution environment, then each event: a CloudFormation
//! custom resource request (answered at its pre-signed URL), or `{"action": "sync"}` from
//! `scripts/put-secret` (answered with what was done).

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use secrecy::SecretString;
use serde_json::Value;
use setup::{Deps, handle};
use shared::config::{AwsBudget, Env, VonageConfig, table_name};
use shared::runtime::time_left;
use shared::secrets::StackSecrets;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let budget = AwsBudget::from_source(&Env)?;
    let deps = Arc::new(Deps {
        secret: StackSecrets::from_source(&Env, &budget).await?,
        store: Store::from_env(table_name(&Env)?, &budget).await,
        // The API secret is read from the stack's secret on every run.
        vonage: VonageConfig::from_source(&Env, SecretString::from(String::new()))?,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
    });
    run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = deps.clone();
        async move {
            let deadline = tokio::time::Instant::now() + time_left(event.context.deadline);
            Ok::<_, Error>(handle(deps, event.payload, deadline, &Env).await?)
        }
    }))
    .await
}
