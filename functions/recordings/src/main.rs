//! Wiring only: the settings read once, then the handler.

use lambda_http::Error;
use recordings::Settings;
use shared::config::Env;
use shared::runtime::{serve_http, webhook_fallback};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(Settings::from_source(&Env), |s| s.timeout, webhook_fallback).await
}
