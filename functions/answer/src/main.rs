//! Wiring only: dependencies built once per execution environment, then the handler.

use answer::{DEFAULT_TIMEOUT, build, unavailable};
use lambda_http::Error;
use shared::config::{CallConfig, Env, request_timeout};
use shared::runtime::{Service, serve};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let call = CallConfig::from_source(&Env)?;
    let timeout = request_timeout(&Env, DEFAULT_TIMEOUT)?;
    let apology = call.clone();
    // Rule 3: whether the function cannot start or the store does not answer in time, the
    // caller hears a message and Vonage gets a 200.
    serve(Service::new(
        move || build(&Env, call.clone(), timeout),
        move |_| unavailable(&apology),
        timeout,
    ))
    .await
}
