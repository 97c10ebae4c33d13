//! Wiring only: the settings read once, the dependencies built from them as
//! `shared::runtime::Invoked` says, then each `number.flagged` the bus's rule delivers.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use replace::{BusEvent, Settings, handle};
use shared::config::Env;
use shared::runtime::Invoked;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = &Invoked::start(Settings::from_source(&Env));
    run(service_fn(move |event: LambdaEvent<BusEvent>| async move {
        handle(&*deps.get().await?, event.payload).await
    }))
    .await
}
