//! How every HTTP function runs: its dependencies (configuration, secrets, clients) are built on
//! the first request, so start-up makes no network call, and built again every 2.5 minutes, so
//! that with the secrets' own cache no secret in use is more than 5 minutes old and a rotated
//! secret is picked up without a restart (a rebuild that fails or is slow leaves the ones in
//! hand serving). If they cannot be built at all, the request gets the function's own safe
//! answer and the next request tries again. Every request, start included, has a time budget:
//! past it the function answers on its own instead of letting Lambda time out.
//!
//! A function's settings are read from the environment once, at start, into its own
//! `Settings`, which implements [`Start`]: each `main.rs` hands them to [`serve_http`] (an HTTP
//! function) or [`Invoked`] (one the change stream or a schedule invokes). Settings that
//! cannot be read count as dependencies that cannot be built.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{ConfigError, StoreConfig};
use crate::error::error_chain;
use crate::problem::ApiError;
use crate::store::Store;

/// A function's settings, read once at start, and how its dependencies are built from them
/// (again every [`DEPS_MAX_AGE`]: the secrets they hold are read as they are then).
pub trait Start: Sync {
    type Deps: Send + Sync;
    fn build(&self) -> impl Future<Output = Result<Self::Deps, Error>> + Send;
}

/// The store the settings name, with their budget.
pub async fn store(config: &StoreConfig) -> Store {
    Store::from_env(config.table.clone(), &config.budget).await
}

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

/// How long built dependencies are used before they are built again: with the secrets' own
/// kept copy of at most as long ([`crate::secrets::KEEP_AT_MOST`]), no secret in use is more
/// than 5 minutes old.
pub const DEPS_MAX_AGE: Duration = Duration::from_secs(150);

/// After a rebuild that failed, how long the dependencies in hand serve before the next try.
const REBUILD_RETRY: Duration = Duration::from_secs(30);

/// Dependencies built by `build` on first use and again when [`DEPS_MAX_AGE`] old.
pub struct Rebuilt<D, B> {
    /// The dependencies, and when they are to be built again.
    kept: Mutex<Option<(Arc<D>, Instant)>>,
    build: B,
}

impl<D, B, F> Rebuilt<D, B>
where
    B: Fn() -> F + Sync,
    F: Future<Output = Result<D, Error>> + Send,
{
    pub fn new(build: B) -> Self {
        Self {
            kept: Mutex::new(None),
            build,
        }
    }

    /// The dependencies: built on first use; built again once they are due, within `budget`,
    /// keeping the ones in hand when that fails.
    pub async fn get(&self, budget: Duration) -> Result<Arc<D>, Error> {
        let mut kept = self.kept.lock().await;
        let now = Instant::now();
        match kept.as_mut() {
            Some((deps, due)) if now < *due => Ok(deps.clone()),
            Some((deps, due)) => {
                // Boxed: a build is a large future, and runs rarely.
                match tokio::time::timeout(budget, Box::pin((self.build)())).await {
                    Ok(Ok(fresh)) => {
                        *deps = Arc::new(fresh);
                        *due = now + DEPS_MAX_AGE;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %error_chain(e.as_ref()), "dependencies not built again: the ones in hand serve");
                        *due = now + REBUILD_RETRY;
                    }
                    Err(_) => {
                        tracing::warn!(
                            "dependencies not built again in time: the ones in hand serve"
                        );
                        *due = now + REBUILD_RETRY;
                    }
                }
                Ok(deps.clone())
            }
            None => {
                let deps = Arc::new(Box::pin((self.build)()).await?);
                *kept = Some((deps.clone(), now + DEPS_MAX_AGE));
                Ok(deps)
            }
        }
    }
}

/// A function: dependencies [`Rebuilt`] by `build`, requests answered within `timeout` (and
/// within the invocation's deadline), `fallback` answering what the handler could not.
pub struct Service<D, B, O> {
    deps: Rebuilt<D, B>,
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
            deps: Rebuilt::new(build),
            fallback,
            timeout,
        }
    }

    /// Answers one request: the handler's answer, or the fallback's when the function cannot
    /// start or the request's time is up.
    pub async fn call(&self, req: Request) -> Response<Body> {
        let deadline = self.deadline(&req);
        let work = async {
            // A rebuild takes at most a quarter of the request's budget.
            match self.deps.get(self.timeout / 4).await {
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

/// Runs an HTTP function with the settings read at start: its dependencies built from them as
/// [`Service`] says, each request answered within `timeout(&settings)`. Settings that could
/// not be read give every request `fallback`'s answer to a function that could not start, the
/// error logged with each, as dependencies that cannot be built do; only a request budget
/// (`REQUEST_TIMEOUT_MS`) that could not be read stops the function at start.
pub async fn serve_http<S, O>(
    settings: Result<S, ConfigError>,
    timeout: impl FnOnce(&S) -> Duration,
    fallback: O,
) -> Result<(), Error>
where
    S: Start,
    S::Deps: Handler,
    O: Fn(Failure) -> Response<Body> + Sync,
{
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) if e.variable() == "REQUEST_TIMEOUT_MS" => return Err(e.into()),
        Err(e) => {
            crate::telemetry::init();
            let (e, fallback) = (&e, &fallback);
            return run(service_fn(move |_: Request| async move {
                tracing::error!(error = %e, "the function could not start");
                Ok::<_, Error>(fallback(Failure::Start))
            }))
            .await;
        }
    };
    let timeout = timeout(&settings);
    serve(Service::new(|| settings.build(), fallback, timeout)).await
}

/// How long a function the stream or a schedule invokes may spend building its dependencies
/// again before the ones in hand serve.
const INVOKED_REBUILD: Duration = Duration::from_secs(5);

type BuildFn<D> =
    Box<dyn Fn() -> futures::future::BoxFuture<'static, Result<D, Error>> + Send + Sync>;

/// The dependencies of a function the change stream or a schedule invokes, built from the
/// settings read at start as [`Rebuilt`] says. Settings that could not be read fail every
/// invocation, as dependencies that cannot be built do.
pub struct Invoked<S: Start> {
    deps: Rebuilt<S::Deps, BuildFn<S::Deps>>,
}

impl<S: Start + Send + 'static> Invoked<S> {
    /// Starts the function's logs, and keeps `settings` for the first invocation.
    pub fn start(settings: Result<S, ConfigError>) -> Self {
        crate::telemetry::init();
        let settings = Arc::new(settings);
        let build: BuildFn<S::Deps> = Box::new(move || {
            let settings = settings.clone();
            Box::pin(async move {
                match settings.as_ref() {
                    Ok(settings) => settings.build().await,
                    Err(e) => Err(e.clone().into()),
                }
            })
        });
        Self {
            deps: Rebuilt::new(build),
        }
    }

    /// The dependencies for one invocation.
    pub async fn get(&self) -> Result<Arc<S::Deps>, Error> {
        self.deps.get(INVOKED_REBUILD).await
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Built(usize);

    impl Handler for Built {
        async fn handle(&self, _: Request) -> Response<Body> {
            Response::new(Body::Text(self.0.to_string()))
        }
    }

    fn answer(response: Response<Body>) -> String {
        match response.body() {
            Body::Text(t) => t.clone(),
            _ => String::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_builds_its_dependencies_again_when_due_and_keeps_them_when_that_fails() {
        let builds = AtomicUsize::new(0);
        let failing = std::sync::atomic::AtomicBool::new(false);
        let service = Service::new(
            || async {
                if failing.load(Ordering::SeqCst) {
                    return Err::<Built, Error>("the secret cannot be read".into());
                }
                Ok(Built(builds.fetch_add(1, Ordering::SeqCst) + 1))
            },
            |_| Response::new(Body::Text("fallback".into())),
            Duration::from_secs(1),
        );
        let request = || Request::new(Body::Empty);
        assert_eq!(answer(service.call(request()).await), "1");
        tokio::time::advance(DEPS_MAX_AGE - Duration::from_secs(1)).await;
        assert_eq!(answer(service.call(request()).await), "1", "not due yet");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(answer(service.call(request()).await), "2", "built again");

        // A rebuild that fails leaves the ones in hand serving, and is tried again later.
        failing.store(true, Ordering::SeqCst);
        tokio::time::advance(DEPS_MAX_AGE).await;
        assert_eq!(answer(service.call(request()).await), "2");
        failing.store(false, Ordering::SeqCst);
        assert_eq!(
            answer(service.call(request()).await),
            "2",
            "not before the retry"
        );
        tokio::time::advance(REBUILD_RETRY).await;
        assert_eq!(answer(service.call(request()).await), "3");
    }
}
