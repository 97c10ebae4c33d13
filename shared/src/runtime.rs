//! How every HTTP function runs: its dependencies (configuration, secrets, clients) are built on
//! the first request, so start-up makes no network call, and kept for the life of the execution
//! environment. If they cannot be built, the request gets the function's own safe answer and the
//! next request tries again.

use std::future::Future;

use lambda_http::{Body, Error, Request, Response, run, service_fn};
use tokio::sync::OnceCell;

use crate::problem::error_chain;

/// A function's dependencies, ready to handle a request.
pub trait Handler: Send + Sync {
    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send;
}

/// Runs the Lambda HTTP loop with dependencies built by `build` on first use.
pub async fn serve<D, B, F>(
    build: B,
    on_failure: impl Fn() -> Response<Body> + Sync,
) -> Result<(), Error>
where
    D: Handler,
    B: Fn() -> F + Sync,
    F: Future<Output = Result<D, Error>> + Send,
{
    crate::telemetry::init();
    let cell = OnceCell::new();
    let (cell, build, on_failure) = (&cell, &build, &on_failure);
    run(service_fn(move |req| async move {
        match cell.get_or_try_init(build).await {
            Ok(deps) => Ok::<_, Error>(deps.handle(req).await),
            Err(e) => {
                tracing::error!(error = %error_chain(e.as_ref()), "the function could not start");
                Ok(on_failure())
            }
        }
    }))
    .await
}

/// The answer for a request when the function cannot start: a problem+json 500.
pub fn internal_error() -> Response<Body> {
    crate::problem::ApiError::Internal("the function could not start".into()).into_response()
}
