//! Wiring only: the settings read once, the dependencies built from them as
//! `shared::runtime::Invoked` says, then each warning a call's one-time schedule hands over.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::config::Env;
use shared::model::CallWarning;
use shared::runtime::Invoked;
use warn::{Settings, handle};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let deps = &Invoked::start(Settings::from_source(&Env));
    run(service_fn(
        move |event: LambdaEvent<CallWarning>| async move {
            handle(&*deps.get().await?, &event.payload, shared::now()).await
        },
    ))
    .await
}
