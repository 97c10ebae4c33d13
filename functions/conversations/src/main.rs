//! Wiring only: dependencies built once per execution environment, then the handler.

use conversations::Deps;
use lambda_http::Error;
use shared::config::{
    AwsBudget, ConversationConfig, Env, VonageConfig, request_timeout, table_name,
};
use shared::runtime::{Service, api_fallback, serve};
use shared::secrets::{API_SECRET, PRIVATE_KEY, application_id, require, resolve};
use shared::store::Store;
use shared::vonage::{NumberCheck, VonageClient};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let secret = require(&Env, API_SECRET).await?;
        let vonage = VonageConfig::from_source(&Env, secret)?;
        let conversations = ConversationConfig::from_source(&Env)?;
        let application_id = application_id(&Env).await?;
        let key = resolve(&Env, PRIVATE_KEY).await?;
        let application = application_id.as_deref().zip(key.as_ref());
        let check = NumberCheck::from_config(&vonage, application)?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?, &AwsBudget::from_source(&Env)?).await,
            vonage: VonageClient::new(&vonage)?.with_number_check(check),
            conversations,
            application_id,
        })
    };
    let timeout = request_timeout(&Env, conversations::DEFAULT_TIMEOUT)?;
    serve(Service::new(build, api_fallback, timeout)).await
}
