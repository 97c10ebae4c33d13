//! How every HTTP function runs: its dependencies (configuration, secrets, clients) are built on
//! the first request, so start-up makes no network call, and kept for the life of the execution
//! environment. If they cannot be built, the request gets the function's own safe answer and the
//! next request tries again. Every request, start included, has a time budget: past it the
//! function answers on its own instead of letting Lambda time out.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::error::error_chain;
use crate::problem::ApiError;

/// A function's dependencies, ready to handle a request.
pub trait Handler: Send + Sync {
    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send;
}

/// Why a request got the function's own answer instead of the handler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The dependencies could not be built (a secret unreadable, a setting invalid).
    Start,
    /// The request ran out of its time budget.
    Timeout,
}

/// Kept this far inside the invocation's own deadline, so the answer still gets out.
pub const LAMBDA_MARGIN: Duration = Duration::from_millis(500);

/// A function: dependencies built by `build` on first use, requests answered within `timeout`
/// (and within the invocation's deadline), `fallback` answering what the handler could not.
pub struct Service<D, B, O> {
    deps: OnceCell<D>,
    build: B,
    fallback: O,
    timeout: Duration,
}

impl<D, B, F, O> Service<D, B, O>
where
    D: Handler,
    B: Fn() -> F + Sync,
    F: Future<Output = Result<D, Error>> + Send,
    O: Fn(Failure) -> Response<Body> + Sync,
{
    pub fn new(build: B, fallback: O, timeout: Duration) -> Self {
        Self {
            deps: OnceCell::new(),
            build,
            fallback,
            timeout,
        }
    }

    /// Answers one request: the handler's answer, or the fallback's when the function cannot
    /// start or the request's time is up.
    pub async fn call(&self, req: Request) -> Response<Body> {
        let deadline = self.deadline(&req);
        let work = async {
            match self.deps.get_or_try_init(&self.build).await {
                Ok(deps) => deps.handle(req).await,
                Err(e) => {
                    tracing::error!(error = %error_chain(e.as_ref()), "the function could not start");
                    (self.fallback)(Failure::Start)
                }
            }
        };
        match tokio::time::timeout_at(deadline, work).await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(
                    budget_ms = self.timeout.as_millis() as u64,
                    "request ran out of its time budget"
                );
                (self.fallback)(Failure::Timeout)
            }
        }
    }

    /// The earlier of the function's own budget and the invocation's deadline less a margin.
    fn deadline(&self, req: &Request) -> Instant {
        let start = Instant::now();
        let own = start + self.timeout;
        let Some(context) = req.lambda_context_ref() else {
            return own;
        };
        let left = time_left(context.deadline);
        if left <= LAMBDA_MARGIN {
            // No real invocation starts this late; a local emulator's deadline can, when it
            // was set before the emulator built the function. The function's own budget holds.
            tracing::debug!(
                left_ms = left.as_millis() as u64,
                "the invocation's deadline is past as the request starts; keeping the request budget"
            );
            return own;
        }
        own.min(start + left - LAMBDA_MARGIN)
    }
}

/// What is left of an invocation whose deadline (the Lambda context's, in Unix milliseconds) is
/// `deadline_ms`.
pub fn time_left(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Runs the Lambda HTTP loop for `service`.
pub async fn serve<D, B, F, O>(service: Service<D, B, O>) -> Result<(), Error>
where
    D: Handler,
    B: Fn() -> F + Sync,
    F: Future<Output = Result<D, Error>> + Send,
    O: Fn(Failure) -> Response<Body> + Sync,
{
    crate::telemetry::init();
    let service = &service;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(service.call(req).await)
    }))
    .await
}

/// The fallback of the management API: a problem+json `500` when the function cannot start,
/// `503` with `Retry-After` when a request runs out of time.
pub fn api_fallback(failure: Failure) -> Response<Body> {
    match failure {
        Failure::Start => ApiError::Internal("the function could not start".into()),
        Failure::Timeout => ApiError::Unavailable,
    }
    .into_response()
}

/// The fallback of a webhook Vonage retries (event, inbound SMS): `503` either way, so the
/// event or text is delivered again once the function works.
pub fn webhook_fallback(_: Failure) -> Response<Body> {
    ApiError::Unavailable.into_response()
}
