//! The Vonage secrets (API secret, signature secret). Where the plain environment variable is
//! set (local work, tests) it wins. Otherwise they come from one AWS Secrets Manager secret named
//! by `VONAGE_SECRET_ARN`, a JSON object `{"api_secret": "...", "signature_secret": "..."}`,
//! fetched on first use (within the store's time budget, [`AwsBudget`]) and kept for the life of the execution environment. They never appear
//! in the template, the deployed environment, a log line or an error body.

use std::collections::HashMap;

use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::config::{AwsBudget, ConfigError, Source};

/// A secret the functions use: its plain variable and its field in the Secrets Manager secret.
#[derive(Debug, Clone, Copy)]
pub struct SecretName {
    pub variable: &'static str,
    pub field: &'static str,
}

pub const API_SECRET: SecretName = SecretName {
    variable: "VONAGE_API_SECRET",
    field: "api_secret",
};

pub const SIGNATURE_SECRET: SecretName = SecretName {
    variable: "VONAGE_SIGNATURE_SECRET",
    field: "signature_secret",
};

pub const HOOK_SECRET: SecretName = SecretName {
    variable: "HOOK_SECRET",
    field: "hook_secret",
};

static FETCHED: OnceCell<HashMap<String, String>> = OnceCell::const_new();

/// The secret, from the plain variable or from Secrets Manager; `Ok(None)` when neither is
/// configured.
pub async fn resolve(
    src: &dyn Source,
    name: SecretName,
) -> Result<Option<SecretString>, ConfigError> {
    if let Some(plain) = src.get(name.variable).filter(|v| !v.is_empty()) {
        return Ok(Some(SecretString::from(plain)));
    }
    let Some(arn) = src.get("VONAGE_SECRET_ARN").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let budget = AwsBudget::from_source(src)?;
    let fields = FETCHED.get_or_try_init(|| fetch(arn, budget)).await?;
    Ok(fields.get(name.field).cloned().map(SecretString::from))
}

/// Like [`resolve`], for a secret the caller cannot work without.
pub async fn require(src: &dyn Source, name: SecretName) -> Result<SecretString, ConfigError> {
    resolve(src, name)
        .await?
        .ok_or(ConfigError::Missing(name.variable))
}

async fn fetch(arn: String, budget: AwsBudget) -> Result<HashMap<String, String>, ConfigError> {
    let config = crate::aws::sdk_config(&budget).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let invalid = |reason: &str| ConfigError::Invalid {
        name: "VONAGE_SECRET_ARN",
        reason: reason.to_owned(),
    };
    let out = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| {
            invalid(&format!(
                "the secret could not be read ({})",
                crate::error::error_chain(&e)
            ))
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| invalid("the secret has no string value"))?;
    serde_json::from_str(text).map_err(|_| invalid("the secret is not a JSON object of strings"))
}
