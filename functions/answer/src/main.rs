//! Wiring only: dependencies built once per execution environment, then the handler.

use answer::{Deps, unavailable};
use lambda_http::Error;
use shared::config::{CallConfig, Env, table_name, webhook_auth};
use shared::secrets::{SIGNATURE_SECRET, resolve};
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let call = CallConfig::from_source(&Env)?;
    let build = || async {
        Ok::<_, Error>(Deps {
            routes: Store::from_env(table_name(&Env)?).await,
            auth: webhook_auth(&Env, resolve(&Env, SIGNATURE_SECRET).await?)?,
            call: call.clone(),
        })
    };
    // Rule 3: even then, the caller hears a message and Vonage gets a 200.
    shared::runtime::serve(build, || unavailable(&call)).await
}
