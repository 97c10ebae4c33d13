//! Wiring only: dependencies built once per execution environment, then the handler.

use conversations::Deps;
use lambda_http::Error;
use shared::config::{ConversationConfig, Env, VonageConfig, table_name};
use shared::runtime::{internal_error, serve};
use shared::secrets::{API_SECRET, require};
use shared::store::Store;
use shared::vonage::VonageClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        let secret = require(&Env, API_SECRET).await?;
        let vonage = VonageConfig::from_source(&Env, secret)?;
        let conversations = ConversationConfig::from_source(&Env)?;
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?)
                .await
                .with_cool_off(conversations.cool_off_seconds),
            vonage: VonageClient::new(&vonage)?,
            conversations,
            application_id: vonage.application_id,
        })
    };
    serve(build, internal_error).await
}
