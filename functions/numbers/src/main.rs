//! Wiring only: dependencies built once per execution environment, then the handler.

use lambda_http::Error;
use numbers::Deps;
use shared::config::{ConfigError, Env, VonageConfig, table_name};
use shared::runtime::{internal_error, serve};
use shared::secrets::{API_SECRET, require};
use shared::store::Store;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let vonage = VonageConfig::from_source(&Env, require(&Env, API_SECRET).await?)?;
        let application_id = vonage
            .application_id
            .clone()
            .ok_or(ConfigError::Missing("VONAGE_APPLICATION_ID"))?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?).await,
            vonage: VonageClient::new(&vonage)?,
            application_id,
        })
    };
    serve(build, internal_error).await
}
