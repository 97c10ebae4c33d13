//! Wiring only: the settings read once, the dependencies built from them as
//! `shared::runtime::Invoked` says, then the sweep.

use expiry::{Settings, handle};
use lambda_runtime::{Error, run, service_fn};
use shared::config::Env;
use shared::runtime::Invoked;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = &Invoked::start(Settings::from_source(&Env));
    run(service_fn(move |event| async move {
        handle(&*deps.get().await?, event).await
    }))
    .await
}
