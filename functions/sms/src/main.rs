//! Wiring only: dependencies built once per execution environment, then the handler.

use lambda_http::Error;
use shared::config::{AwsBudget, Env, SmsConfig, request_timeout, table_name};
use shared::hook::Hooks;
use shared::runtime::{Service, serve, webhook_fallback};
use shared::secrets::vonage_client;
use shared::signature::webhook_auth;
use shared::sms_signature::sms_auth;
use shared::store::Store;
use sms::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: vonage_client(&Env).await?,
            auth: sms_auth(&Env).await?,
            jwt: webhook_auth(&Env).await?,
            sms: SmsConfig::from_source(&Env)?,
            hooks: Hooks::from_source(&Env).await?,
        })
    };
    let timeout = request_timeout(&Env, sms::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, webhook_fallback, timeout)).await
}
