//! Wiring only: dependencies built once per execution environment, then the handler.

use event::Deps;
use lambda_http::Error;
use shared::config::{ConversationConfig, Env, table_name, webhook_auth};
use shared::runtime::{internal_error, serve};
use shared::secrets::{SIGNATURE_SECRET, resolve};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let build = || async {
        Ok::<_, Error>(Deps {
            store: Store::from_env(table_name(&Env)?).await,
            auth: webhook_auth(&Env, resolve(&Env, SIGNATURE_SECRET).await?)?,
            retention_seconds: ConversationConfig::from_source(&Env)?.retention_seconds,
        })
    };
    serve(build, internal_error).await
}
