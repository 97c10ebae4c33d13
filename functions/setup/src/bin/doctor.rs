//! `scripts/doctor`: prints the stack's checklist (see `setup::doctor`) and exits 1 when a line
//! failed. Its settings come from the environment, which the script fills from the stack's
//! outputs (or the local stack's settings): ANSWER_URL, FALLBACK_URL, EVENT_URL,
//! VONAGE_SECRET_ARN, APPLICATION_SECRET_ARN, WEBHOOK_SECRET_ARN (the local stack's one secret
//! is the first alone), TABLE_NAME, VONAGE_API_KEY, FUNCTION_ROLES (`;`-separated
//! `role-arn|secret,secret` entries, none locally) and PUT_SECRET (how the fixes name scripts/put-secret for this stack). Run with
//! the local stack's environment (`WEBHOOK_SIGNATURES=off` beside a local endpoint), it does not
//! expect an unsigned call to be refused.

use std::process::ExitCode;
use std::time::Duration;

use setup::doctor::{Doctor, Expected, Role, render};
use shared::config::{ConfigError, Env, Source, StoreConfig, VonageConfig};
use shared::secrets::StackSecrets;

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let required = |name: &'static str| Env.get(name).ok_or(ConfigError::Missing(name));
    let store = StoreConfig::from_source(&Env)?;
    let listed = Env.get("FUNCTION_ROLES").unwrap_or_default();
    let roles: Vec<Role> = listed
        .split(';')
        .filter(|r| !r.is_empty())
        .map(|r| {
            Role::parse(r).ok_or_else(|| ConfigError::Invalid {
                name: "FUNCTION_ROLES",
                reason: format!("{r} is not role-arn|secret,secret"),
            })
        })
        .collect::<Result<_, _>>()?;
    let sdk = shared::aws::sdk_config(&store.budget).await;
    let doctor = Doctor {
        secret: StackSecrets::from_source(&Env, &store.budget).await?,
        store: shared::runtime::store(&store).await,
        vonage: VonageConfig::without_secret(&Env)?,
        iam: (!roles.is_empty()).then(|| aws_sdk_iam::Client::new(&sdk)),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
    };
    // The local stack's functions take unsigned requests, as PRODUCT.md allows beside a local
    // endpoint only; `scripts/doctor --local` runs with their environment.
    let signatures_off_locally =
        shared::signature::signatures_off(&Env)? && shared::signature::is_local(&Env);
    let expected = Expected {
        answer_url: required("ANSWER_URL")?,
        fallback_url: required("FALLBACK_URL")?,
        event_url: required("EVENT_URL")?,
        roles,
        put_secret: Env
            .get("PUT_SECRET")
            .unwrap_or_else(|| "scripts/put-secret STACK".into()),
        signatures_off_locally,
    };
    let mut lines = doctor.examine(&expected).await;
    lines.push(setup::doctor::wording(&Env));
    print!("{}", render(&lines));
    Ok(if lines.iter().all(|l| l.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
