//! Wiring only: dependencies built once per execution environment, then the handler.

use lambda_http::Error;
use shared::config::{AwsBudget, Env, SmsConfig, VonageConfig, request_timeout, table_name};
use shared::hook::Hooks;
use shared::runtime::{Service, serve, webhook_fallback};
use shared::secrets::{API_SECRET, SIGNATURE_SECRET, require, resolve};
use shared::sms_signature::sms_auth;
use shared::store::Store;
use shared::vonage::VonageClient;
use sms::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let secret = require(&Env, API_SECRET).await?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: VonageClient::new(&VonageConfig::from_source(&Env, secret)?)?,
            auth: sms_auth(&Env, resolve(&Env, SIGNATURE_SECRET).await?)?,
            sms: SmsConfig::from_source(&Env)?,
            hooks: Hooks::from_source(&Env).await?,
        })
    };
    let timeout = request_timeout(&Env, sms::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, webhook_fallback, timeout)).await
}
