//! Shared parts of the voice proxy's functions, in layers (ARCHITECTURE.md): types, settings,
//! adapters (the DynamoDB store, the Vonage client, signatures), the domain (the product's rules
//! and the ports they use), and the HTTP kit (parsing, problem+json, the Lambda loop).

pub mod aws;
pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod hook;
pub mod http;
pub mod model;
pub mod ncco;
pub mod phone;
pub mod ports;
pub mod problem;
pub mod request;
pub mod runtime;
pub mod scheduler;
pub mod seal;
pub mod secrets;
pub mod signature;
pub mod sms_signature;
pub mod store;
pub mod stream;
pub mod telemetry;
pub mod values;
pub mod vonage;

#[cfg(feature = "local")]
pub mod table;

/// Now, in unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds as RFC 3339 (`2026-11-24T19:00:00Z`), the form the API shows times in.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
