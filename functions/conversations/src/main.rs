//! Wiring only: dependencies built once per execution environment, then the handler.

use conversations::Deps;
use lambda_http::Error;
use shared::config::{
    AwsBudget, ConversationConfig, Env, VonageConfig, request_timeout, table_name,
};
use shared::runtime::{Service, api_fallback, serve};
use shared::secrets::{API_SECRET, application_id, require};
use shared::store::Store;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let secret = require(&Env, API_SECRET).await?;
        let vonage = VonageConfig::from_source(&Env, secret)?;
        let conversations = ConversationConfig::from_source(&Env)?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: VonageClient::new(&vonage)?,
            conversations,
            application_id: application_id(&Env).await?,
        })
    };
    let timeout = request_timeout(&Env, conversations::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, api_fallback, timeout)).await
}
