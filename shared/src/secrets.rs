//! The stack's secrets (API secret, signature secret, hook secret, seal key, the Voice
//! application's id and private key). Where the plain environment variable is set (local work,
//! tests) it wins. Otherwise they come from the stack's AWS Secrets Manager secrets, each a JSON
//! object of strings (`{"api_secret": "...", ...}`): three of them ([`Vault`]), so that each
//! function's role reads only the secrets it uses; where a function is given one secret only
//! (`VONAGE_SECRET_ARN`: local work, a stack deployed before the split), it holds them all. They
//! are fetched on
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

use crate::config::{AwsBudget, ConfigError, Source, optional};

/// Which of the stack's secrets holds a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vault {
    /// The account's API secret, put by the operator (`VONAGE_SECRET_ARN`).
    Account,
    /// The Vonage application: its id, its private key and where the stack's webhooks are,
    /// written by the set-up (`APPLICATION_SECRET_ARN`).
    Application,
    /// What checks and signs webhooks: the signature secret (put by the operator), the seal key
    /// (written by the set-up), the hook secret (generated with it) (`WEBHOOK_SECRET_ARN`).
    Webhooks,
}

impl Vault {
    pub const ALL: [Vault; 3] = [Vault::Account, Vault::Application, Vault::Webhooks];

    /// The variable that names its secret.
    pub fn arn_variable(self) -> &'static str {
        match self {
            Vault::Account => "VONAGE_SECRET_ARN",
            Vault::Application => "APPLICATION_SECRET_ARN",
            Vault::Webhooks => "WEBHOOK_SECRET_ARN",
        }
    }

    /// As the template's `FunctionRoles` output names it.
    pub fn name(self) -> &'static str {
        match self {
            Vault::Account => "account",
            Vault::Application => "application",
            Vault::Webhooks => "webhooks",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The ARN of `vault`'s secret: its own variable, else `VONAGE_SECRET_ARN`, which holds every
/// field where a function is given one secret.
pub fn secret_arn(src: &dyn Source, vault: Vault) -> Option<String> {
    optional(src, vault.arn_variable()).or_else(|| optional(src, Vault::Account.arn_variable()))
}

/// A secret the functions use: its plain variable, its field, and the secret that holds it.
#[derive(Debug, Clone, Copy)]
pub struct SecretName {
    pub variable: &'static str,
    pub field: &'static str,
    pub vault: Vault,
}

pub const API_SECRET: SecretName = SecretName {
    variable: "VONAGE_API_SECRET",
    field: "api_secret",
    vault: Vault::Account,
};

pub const SIGNATURE_SECRET: SecretName = SecretName {
    variable: "VONAGE_SIGNATURE_SECRET",
    field: "signature_secret",
    vault: Vault::Webhooks,
};

pub const HOOK_SECRET: SecretName = SecretName {
    variable: "HOOK_SECRET",
    field: "hook_secret",
    vault: Vault::Webhooks,
};

/// The key the product's own webhook URLs are sealed with ([`crate::seal`]). Where the secret
/// has none, one is derived from the signature secret.
pub const SEAL_KEY: SecretName = SecretName {
    variable: "WEBHOOK_SEAL_KEY",
    field: "seal_key",
    vault: Vault::Webhooks,
};

/// The id of the Voice application the stack's numbers are linked to. Not secret, but written
/// by the set-up beside the key that goes with it.
pub const APPLICATION_ID: SecretName = SecretName {
    variable: "VONAGE_APPLICATION_ID",
    field: "application_id",
    vault: Vault::Application,
};

/// The application every signed webhook's token must name, kept with what checks webhooks (so
/// a function that only checks them never reads the application's key). Written by the set-up
/// with [`APPLICATION_ID`].
pub const WEBHOOK_APPLICATION_ID: SecretName = SecretName {
    variable: "VONAGE_APPLICATION_ID",
    field: "webhook_application_id",
    vault: Vault::Webhooks,
};

/// The application's private key (PEM), which Voice API tokens are signed with.
pub const PRIVATE_KEY: SecretName = SecretName {
    variable: "VONAGE_PRIVATE_KEY",
    field: "private_key",
    vault: Vault::Application,
};

/// Where the stack's webhooks are (`https://{api}.execute-api.{region}.amazonaws.com`): written
/// by the set-up, which knows the stack's URLs, for the functions whose own webhooks it would
/// be a circle in the template to name (what the SMS API is told of a number's inbound texts
/// and of each text's receipt). Not secret.
pub const WEBHOOK_BASE: SecretName = SecretName {
    variable: "PUBLIC_BASE_URL",
    field: "webhook_base_url",
    vault: Vault::Application,
};

/// Every field of the stack's secrets.
pub const ALL_FIELDS: [SecretName; 8] = [
    API_SECRET,
    SIGNATURE_SECRET,
    HOOK_SECRET,
    SEAL_KEY,
    WEBHOOK_APPLICATION_ID,
    APPLICATION_ID,
    PRIVATE_KEY,
    WEBHOOK_BASE,
];

/// The secret that holds `field` (the account's for a field it does not know).
pub fn vault_of(field: &str) -> Vault {
    ALL_FIELDS
        .iter()
        .find(|f| f.field == field)
        .map_or(Vault::Account, |f| f.vault)
}

/// Every field a working stack's secrets have (the hook secret is generated with its secret;
/// without a seal key, one is derived from the signature secret).
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
    let Some(arn) = secret_arn(src, name.vault) else {
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
        match secret_arn(src, name.vault) {
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

    /// Takes `fields` out, keeping every other field as it is.
    pub async fn remove(&self, fields: &[&str]) -> Result<(), ConfigError> {
        let mut all = self.read().await?;
        all.retain(|name, _| !fields.contains(&name.as_str()));
        self.write(&all).await
    }

    /// Sets `fields`, keeping every other field as it is (read, merged, written as a new
    /// version when something changes).
    pub async fn merge(&self, fields: &[(&str, &str)]) -> Result<(), ConfigError> {
        let mut all = self.read().await?;
        let mut changed = false;
        for (name, value) in fields {
            changed |= all
                .insert((*name).to_owned(), (*value).to_owned())
                .as_deref()
                != Some(value);
        }
        if changed {
            self.write(&all).await?;
        }
        Ok(())
    }

    async fn write(&self, all: &HashMap<String, String>) -> Result<(), ConfigError> {
        let text = serde_json::to_string(all).map_err(|_| invalid("unwritable"))?;
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

/// The stack's secrets as the set-up and the doctor see them: each [`Vault`]'s, read and written
/// whole (one secret may stand for several).
#[derive(Clone)]
pub struct StackSecrets {
    vaults: Vec<(Vault, StackSecret)>,
}

impl StackSecrets {
    /// The secrets the settings name ([`secret_arn`]).
    pub async fn from_source(src: &dyn Source, budget: &AwsBudget) -> Result<Self, ConfigError> {
        let mut vaults = Vec::new();
        for vault in Vault::ALL {
            let arn = secret_arn(src, vault).ok_or(ConfigError::Missing("VONAGE_SECRET_ARN"))?;
            vaults.push((vault, StackSecret::new(arn, budget).await));
        }
        Ok(Self { vaults })
    }

    /// One secret holding every field.
    pub async fn single(arn: String, budget: &AwsBudget) -> Self {
        let secret = StackSecret::new(arn, budget).await;
        Self {
            vaults: Vault::ALL.map(|v| (v, secret.clone())).to_vec(),
        }
    }

    /// The secret of `vault`.
    pub fn of(&self, vault: Vault) -> &StackSecret {
        &self
            .vaults
            .iter()
            .find(|(v, _)| *v == vault)
            .unwrap_or(&self.vaults[0])
            .1
    }

    /// Each secret once, with the vaults it stands for.
    fn distinct(&self) -> Vec<(&StackSecret, Vec<Vault>)> {
        let mut out: Vec<(&StackSecret, Vec<Vault>)> = Vec::new();
        for (vault, secret) in &self.vaults {
            match out.iter_mut().find(|(s, _)| s.arn() == secret.arn()) {
                Some((_, vaults)) => vaults.push(*vault),
                None => out.push((secret, vec![*vault])),
            }
        }
        out
    }

    /// Every field, each from its own secret (a field another secret holds for it is not
    /// there for the functions, and so not here either: [`settle`](Self::settle) moves it).
    pub async fn read(&self) -> Result<HashMap<String, String>, ConfigError> {
        let mut own = HashMap::new();
        for (secret, vaults) in self.distinct() {
            own.extend(
                secret
                    .read()
                    .await?
                    .into_iter()
                    .filter(|(field, _)| vaults.contains(&vault_of(field))),
            );
        }
        Ok(own)
    }

    /// Each secret's ARN once.
    pub fn arns(&self) -> Vec<&str> {
        self.distinct().iter().map(|(s, _)| s.arn()).collect()
    }

    /// Writes each field into its own secret, leaving the secrets it does not change as they
    /// are.
    pub async fn merge(&self, fields: &[(&str, &str)]) -> Result<(), ConfigError> {
        for (secret, vaults) in self.distinct() {
            let mine: Vec<(&str, &str)> = fields
                .iter()
                .filter(|(f, _)| vaults.contains(&vault_of(f)))
                .copied()
                .collect();
            if !mine.is_empty() {
                secret.merge(&mine).await?;
            }
        }
        Ok(())
    }

    /// Moves each field the account's secret holds for another secret (a stack deployed with
    /// one secret) into its own, where its value wins, and out of the account's: the names of
    /// the fields moved.
    pub async fn settle(&self) -> Result<Vec<&'static str>, ConfigError> {
        let account = self.of(Vault::Account);
        let held = account.read().await?;
        let moving: Vec<(&'static str, &str)> = ALL_FIELDS
            .iter()
            .filter(|name| self.of(name.vault).arn() != account.arn())
            .filter_map(|name| Some((name.field, held.get(name.field)?.as_str())))
            .collect();
        if moving.is_empty() {
            return Ok(Vec::new());
        }
        self.merge(&moving).await?;
        let moved: Vec<&'static str> = moving.iter().map(|(field, _)| *field).collect();
        account.remove(&moved).await?;
        Ok(moved)
    }
}

fn invalid(reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: "VONAGE_SECRET_ARN",
        reason: reason.to_owned(),
    }
}

/// The Vonage client `settings` describe (read at start, without the API secret), with the API
/// secret and, where the stack's secret holds them, the application's id and key, which
/// Identity Insights and the Messages API take tokens of; the secrets are found as `src` says.
pub async fn vonage_client(
    settings: &crate::config::VonageConfig,
    src: &dyn Source,
) -> Result<crate::vonage::VonageClient, Box<dyn std::error::Error + Send + Sync>> {
    let mut config = crate::config::VonageConfig {
        api_secret: require(src, API_SECRET).await?,
        ..settings.clone()
    };
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
