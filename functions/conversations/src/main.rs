//! Wiring only: configuration and clients once per execution environment, then the handler.

use conversations::{Deps, handle};
use lambda_http::{Error, run, service_fn};
use shared::config::{ConversationConfig, Env, VonageConfig, table_name};
use shared::store::Store;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Deps {
        store: Store::from_env(table_name(&Env)?).await,
        vonage: VonageClient::new(&VonageConfig::from_source(&Env)?)?,
        conversations: ConversationConfig::from_source(&Env)?,
    };
    let deps = &deps;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(handle(deps, req).await)
    }))
    .await
}
