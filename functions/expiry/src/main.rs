//! Wiring only: configuration and clients, built again as `shared::runtime::Rebuilt` says, then
//! the sweep.

use std::time::Duration;

use expiry::{Deps, Notify, handle};
use lambda_runtime::{Error, run, service_fn};
use shared::config::{AwsBudget, ConversationConfig, Env, ExpiryConfig, table_name};
use shared::domain::conversation::ClosePolicy;
use shared::runtime::Rebuilt;
use shared::secrets::vonage_client;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let deps = Rebuilt::new(|| async {
        let conversations = ConversationConfig::from_source(&Env)?;
        let config = ExpiryConfig::from_source(&Env)?;
        let notify = match config.notify_template.clone() {
            Some(template) => Some(Notify {
                vonage: vonage_client(&Env).await?,
                template,
                texts: config.texts.clone(),
            }),
            None => None,
        };
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            closing: ClosePolicy::from(&conversations),
            max_per_run: config.max_per_run,
            concurrency: config.concurrency,
            safety_margin: Duration::from_secs(3),
            notify,
        })
    });
    let deps = &deps;
    run(service_fn(move |event| async move {
        let deps = deps.get(Duration::from_secs(5)).await?;
        handle(&deps, event).await
    }))
    .await
}
