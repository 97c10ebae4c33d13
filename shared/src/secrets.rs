//! The stack's secrets (API secret, signature secret, hook secret, the Voice application's id
//! and private key). Where the plain environment variable is set (local work, tests) it wins.
//! Otherwise they come from the stack's AWS Secrets Manager secret named by
//! `VONAGE_SECRET_ARN`, a JSON object of strings (`{"api_secret": "...", ...}`), fetched on
//! first use (within the store's time budget, [`AwsBudget`]) and kept for at most 2.5 minutes,
//! so that a rotated secret is picked up without a restart (the functions' dependencies are
//! built again as often: [`crate::runtime`]). A field the kept copy lacks is looked up
//! again, at most once a minute: the stack creates the secret without the operator's secrets,
//! which are put after the deploy, so an environment started in between must not keep a copy
//! without them. A check that fails against a kept copy older than 30 s reads it again once
//! ([`Rotating`]). They never appear in the template, the deployed environment, a log line or
//! an error body.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

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

/// The key the product's own webhook URLs are sealed with ([`crate::seal`]). Where the secret
/// has none, one is derived from the signature secret.
pub const SEAL_KEY: SecretName = SecretName {
    variable: "WEBHOOK_SEAL_KEY",
    field: "seal_key",
};

/// The id of the Voice application the stack's numbers are linked to. Not secret, but written
/// by the set-up beside the key that goes with it.
pub const APPLICATION_ID: SecretName = SecretName {
    variable: "VONAGE_APPLICATION_ID",
    field: "application_id",
};

/// The application's private key (PEM), which Voice API tokens are signed with.
pub const PRIVATE_KEY: SecretName = SecretName {
    variable: "VONAGE_PRIVATE_KEY",
    field: "private_key",
};

/// Where the stack's webhooks are (`https://{api}.execute-api.{region}.amazonaws.com`): written
/// by the set-up, which knows the stack's URLs, for the functions whose own webhooks it would
/// be a circle in the template to name (what the SMS API is told of a number's inbound texts
/// and of each text's receipt). Not secret.
pub const WEBHOOK_BASE: SecretName = SecretName {
    variable: "PUBLIC_BASE_URL",
    field: "webhook_base_url",
};

/// Every field a working stack's secret has (the hook secret is generated with the secret).
pub const EVERY_FIELD: [SecretName; 5] = [
    API_SECRET,
    SIGNATURE_SECRET,
    HOOK_SECRET,
    APPLICATION_ID,
    PRIVATE_KEY,
];

/// How long a kept copy that lacks a field is trusted before it is fetched again.
const REFETCH_MISSING_AFTER: Duration = Duration::from_secs(60);

/// How long a kept copy is used at all: with the functions' dependencies built again as often
/// ([`crate::runtime::DEPS_MAX_AGE`]), no secret in use is more than 5 minutes old.
pub const KEEP_AT_MOST: Duration = Duration::from_secs(150);

/// How old a kept copy must be before a failed check reads it again.
pub const REFETCH_ON_FAILURE_AFTER: Duration = Duration::from_secs(30);

struct Kept {
    at: Instant,
    fields: HashMap<String, String>,
}

/// The kept copies, by secret ARN.
static FETCHED: Mutex<Option<HashMap<String, Kept>>> = Mutex::const_new(None);

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
    stack_field(
        &arn,
        &AwsBudget::from_source(src)?,
        name.field,
        KEEP_AT_MOST,
    )
    .await
}

/// A field of the stack's secret `arn`, from a kept copy younger than `max_age` (and than
/// [`KEEP_AT_MOST`]), else read again.
async fn stack_field(
    arn: &str,
    budget: &AwsBudget,
    field: &str,
    max_age: Duration,
) -> Result<Option<SecretString>, ConfigError> {
    let mut kept = FETCHED.lock().await;
    let copies = kept.get_or_insert_with(HashMap::new);
    let fresh_enough = copies.get(arn).is_some_and(|k| {
        let age = k.at.elapsed();
        age < max_age.min(KEEP_AT_MOST)
            && (k.fields.contains_key(field) || age < REFETCH_MISSING_AFTER)
    });
    if !fresh_enough {
        let fields = StackSecret::new(arn.to_owned(), budget)
            .await
            .read()
            .await?;
        copies.insert(
            arn.to_owned(),
            Kept {
                at: Instant::now(),
                fields,
            },
        );
    }
    Ok(copies
        .get(arn)
        .and_then(|k| k.fields.get(field))
        .cloned()
        .map(SecretString::from))
}

/// A secret a webhook's signature is checked with, as the function holds it: the plain
/// variable (local work, tests), or the stack's secret, read again as [`resolve`] allows and
/// once more when a check fails against a copy older than [`REFETCH_ON_FAILURE_AFTER`].
#[derive(Clone)]
pub enum Rotating {
    Fixed(SecretString),
    Stack {
        arn: String,
        budget: AwsBudget,
        field: &'static str,
        /// The copy read at start, used while Secrets Manager cannot be read.
        last: SecretString,
        refetch_after: Duration,
    },
}

impl Rotating {
    /// The secret `name` as [`resolve`] finds it; `Ok(None)` when it is not configured.
    pub async fn from_source(
        src: &dyn Source,
        name: SecretName,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(secret) = resolve(src, name).await? else {
            return Ok(None);
        };
        let plain = src.get(name.variable).is_some_and(|v| !v.is_empty());
        match src.get("VONAGE_SECRET_ARN").filter(|v| !v.is_empty()) {
            Some(arn) if !plain => Ok(Some(Self::Stack {
                arn,
                budget: AwsBudget::from_source(src)?,
                field: name.field,
                last: secret,
                refetch_after: REFETCH_ON_FAILURE_AFTER,
            })),
            _ => Ok(Some(Self::Fixed(secret))),
        }
    }

    /// The same, reading the secret again after a failed check once the kept copy is
    /// `after` old (tests use zero).
    pub fn refetching_after(mut self, after: Duration) -> Self {
        if let Self::Stack { refetch_after, .. } = &mut self {
            *refetch_after = after;
        }
        self
    }

    /// The secret as it was last read.
    pub fn last(&self) -> &SecretString {
        match self {
            Self::Fixed(secret) | Self::Stack { last: secret, .. } => secret,
        }
    }

    /// Runs `check` with the current secret; when it fails as `retry` says a rotation would
    /// make it fail, once more with the secret read again (if the kept copy was old enough to
    /// read again and the secret changed).
    pub async fn check<T, E>(
        &self,
        check: impl Fn(&SecretString) -> Result<T, E>,
        retry: impl Fn(&E) -> bool,
    ) -> Result<T, E> {
        let (arn, budget, field, last, refetch_after) = match self {
            Self::Fixed(secret) => return check(secret),
            Self::Stack {
                arn,
                budget,
                field,
                last,
                refetch_after,
            } => (arn, budget, *field, last, *refetch_after),
        };
        let read = |max_age| async move {
            stack_field(arn, budget, field, max_age)
                .await
                .inspect_err(
                    |e| tracing::warn!(error = %e, "the stack's secret could not be read again"),
                )
                .ok()
                .flatten()
        };
        let current = read(KEEP_AT_MOST).await.unwrap_or_else(|| last.clone());
        match check(&current) {
            Err(e) if retry(&e) => match read(refetch_after).await {
                Some(again) if again.expose_secret() != current.expose_secret() => check(&again),
                _ => Err(e),
            },
            result => result,
        }
    }
}

/// The Voice application's id: `VONAGE_APPLICATION_ID`, or the id the set-up recorded in the
/// stack's secret.
pub async fn application_id(src: &dyn Source) -> Result<Option<String>, ConfigError> {
    Ok(resolve(src, APPLICATION_ID)
        .await?
        .map(|id| id.expose_secret().to_owned()))
}

/// Like [`resolve`], for a secret the caller cannot work without.
pub async fn require(src: &dyn Source, name: SecretName) -> Result<SecretString, ConfigError> {
    resolve(src, name)
        .await?
        .ok_or(ConfigError::Missing(name.variable))
}

/// The stack's secret itself, read and written whole: the set-up records the application in
/// it, `scripts/put-secret` and the doctor read it. Every read is fresh.
#[derive(Clone)]
pub struct StackSecret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl StackSecret {
    pub async fn new(arn: String, budget: &AwsBudget) -> Self {
        let config = crate::aws::sdk_config(budget).await;
        Self {
            client: aws_sdk_secretsmanager::Client::new(&config),
            arn,
        }
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Every field.
    pub async fn read(&self) -> Result<HashMap<String, String>, ConfigError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
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
        serde_json::from_str(text)
            .map_err(|_| invalid("the secret is not a JSON object of strings"))
    }

    /// Sets `fields`, keeping every other field as it is (read, merged, written as a new
    /// version).
    pub async fn merge(&self, fields: &[(&str, &str)]) -> Result<(), ConfigError> {
        let mut all = self.read().await?;
        for (name, value) in fields {
            all.insert((*name).to_owned(), (*value).to_owned());
        }
        let text = serde_json::to_string(&all).map_err(|_| invalid("unwritable"))?;
        self.client
            .put_secret_value()
            .secret_id(&self.arn)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| {
                invalid(&format!(
                    "the secret could not be written ({})",
                    crate::error::error_chain(&e)
                ))
            })?;
        Ok(())
    }
}

fn invalid(reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: "VONAGE_SECRET_ARN",
        reason: reason.to_owned(),
    }
}

/// The Vonage client the settings describe, with the API secret and, where the stack's secret
/// holds them, the application's id and key, which Identity Insights and the Messages API take
/// tokens of.
pub async fn vonage_client(
    src: &dyn Source,
) -> Result<crate::vonage::VonageClient, Box<dyn std::error::Error + Send + Sync>> {
    let mut config =
        crate::config::VonageConfig::from_source(src, require(src, API_SECRET).await?)?;
    if config.public_base_url.is_none() {
        config.public_base_url = resolve(src, WEBHOOK_BASE).await?.map(|b| {
            secrecy::ExposeSecret::expose_secret(&b)
                .trim_end_matches('/')
                .to_owned()
        });
    }
    let (id, key) = (application_id(src).await?, resolve(src, PRIVATE_KEY).await?);
    Ok(crate::vonage::VonageClient::new(&config)?
        .with_application(&config, id.as_deref().zip(key.as_ref()))?)
}
