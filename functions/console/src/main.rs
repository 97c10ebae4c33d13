//! Wiring only: the settings read once, then the handler.

use console::Settings;
use lambda_http::Error;
use shared::config::Env;
use shared::runtime::{api_fallback, serve_http};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(Settings::from_source(&Env), |s| s.timeout, api_fallback).await
}
