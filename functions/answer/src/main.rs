//! Wiring only: configuration and clients once per execution environment (on the first call,
//! so start-up makes no network request), then the handler.

use answer::{Deps, handle, unavailable};
use lambda_http::{Error, run, service_fn};
use shared::config::{CallConfig, ConfigError, Env, table_name, webhook_auth};
use shared::problem::error_chain;
use shared::secrets::{SIGNATURE_SECRET, resolve};
use shared::store::Store;
use tokio::sync::OnceCell;

async fn deps(call: CallConfig) -> Result<Deps<Store>, ConfigError> {
    let secret = resolve(&Env, SIGNATURE_SECRET).await?;
    Ok(Deps {
        routes: Store::from_env(table_name(&Env)?).await,
        auth: webhook_auth(&Env, secret)?,
        call,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let call = CallConfig::from_source(&Env)?;
    let cell = OnceCell::new();
    let (cell, call) = (&cell, &call);
    run(service_fn(move |req| async move {
        match cell.get_or_try_init(|| deps(call.clone())).await {
            Ok(deps) => Ok::<_, Error>(handle(deps, req).await),
            // Rule 3: even now, the caller hears a message and Vonage gets a 200.
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "answer function cannot start");
                Ok(unavailable(call))
            }
        }
    }))
    .await
}
