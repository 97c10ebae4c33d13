//! Wiring only: dependencies built once per execution environment, then the handler.

use conversations::Deps;
use lambda_http::Error;
use shared::config::{AwsBudget, ConversationConfig, Env, request_timeout, table_name};
use shared::runtime::{Service, api_fallback, serve};
use shared::secrets::{application_id, vonage_client};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: vonage_client(&Env).await?,
            conversations: ConversationConfig::from_source(&Env)?,
            application_id: application_id(&Env).await?,
        })
    };
    let timeout = request_timeout(&Env, conversations::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, api_fallback, timeout)).await
}
