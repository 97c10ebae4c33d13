//! Wiring only: dependencies built once per execution environment, then the handler.

use event::Deps;
use lambda_http::Error;
use shared::config::{
    AwsBudget, Env, MissedCallConfig, WebhookMethods, request_timeout, table_name,
};
use shared::domain::Retention;
use shared::runtime::{Service, serve, webhook_fallback};
use shared::signature::webhook_auth;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            auth: webhook_auth(&Env).await?,
            methods: WebhookMethods::from_source(&Env)?,
            retention: Retention::from_source(&Env)?,
            missed: MissedCallConfig::from_source(&Env)?,
        })
    };
    let timeout = request_timeout(&Env, event::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, webhook_fallback, timeout)).await
}
