//! Wiring only: dependencies built once per execution environment, then the handler.

use lambda_http::Error;
use numbers::Deps;
use shared::config::{AwsBudget, ConfigError, Env, request_timeout, table_name};
use shared::runtime::{Service, api_fallback, serve};
use shared::secrets::{application_id, vonage_client};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let application_id = application_id(&Env)
            .await?
            .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: vonage_client(&Env).await?,
            application_id,
        })
    };
    let timeout = request_timeout(&Env, numbers::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, api_fallback, timeout)).await
}
