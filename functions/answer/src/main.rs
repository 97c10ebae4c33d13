//! Wiring only: the settings read once, then the handler.

use answer::{Settings, unavailable};
use lambda_http::Error;
use shared::config::{CallConfig, Env};
use shared::runtime::serve_http;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_source(&Env);
    // Rule 3: whether the function cannot start or the store does not answer in time, the
    // caller hears a message (the built-in one when the settings cannot be read) and Vonage
    // gets a 200.
    let apology = match &settings {
        Ok(s) => s.call.clone(),
        Err(_) => CallConfig::from_source(&|_: &str| None)?,
    };
    serve_http(settings, |s| s.timeout, move |_| unavailable(&apology)).await
}
