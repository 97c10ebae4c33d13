//! The answer webhook (`/webhooks/answer`) and the fallback answer webhook (`/webhooks/fallback`):
//! one route lookup, then an NCCO. An inbound call always gets `200` and a valid NCCO, whatever
//! goes wrong (rule 3 of the product contract).

use std::time::Duration;

use tracing::Instrument;

use lambda_http::{Body, Request, Response};
use shared::config::{AwsBudget, CallConfig, Source, table_name};
use shared::http::{request_base_url, webhook_fields};
use shared::ncco::Ncco;
use shared::phone::{Msisdn, mask};
use shared::ports::RouteReader;
use shared::problem::{ApiError, error_chain};
use shared::secrets::{SIGNATURE_SECRET, resolve};
use shared::signature::{WebhookAuth, webhook_auth};
use shared::store::Store;
use shared::telemetry;

pub struct Deps<R> {
    pub routes: R,
    pub call: CallConfig,
    pub auth: WebhookAuth,
}

/// One call's whole budget, the function's start included (`REQUEST_TIMEOUT_MS`): Vonage hears
/// an NCCO well within the 2 seconds rule 3 allows, whatever the store or Secrets Manager do.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

/// The function's dependencies from its settings: the store within its time budget, and the
/// signature secret (from Secrets Manager in the stack).
pub async fn build(src: &dyn Source, call: CallConfig) -> Result<Deps<Store>, lambda_http::Error> {
    Ok(Deps {
        routes: Store::from_env(table_name(src)?, &AwsBudget::from_source(src)?).await,
        auth: webhook_auth(src, resolve(src, SIGNATURE_SECRET).await?)?,
        call,
    })
}

/// How a call was answered, for the log line and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Connected,
    UnknownCaller,
    Expired,
    /// The conversation relays texts only.
    VoiceOff,
    Unreadable,
    StoreFailed,
}

impl Outcome {
    /// As the log lines and the `Calls` metric's `Outcome` dimension name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::UnknownCaller => "unknown_caller",
            Self::Expired => "expired",
            Self::VoiceOff => "voice_off",
            Self::Unreadable => "unreadable",
            Self::StoreFailed => "store_failed",
        }
    }
}

pub async fn handle<R: RouteReader>(deps: &Deps<R>, req: Request) -> Response<Body> {
    if !matches!(req.method().as_str(), "GET" | "POST") {
        return ApiError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    let now = shared::now();
    // A request Vonage did not sign is refused before anything is read.
    if let Err(e) = deps.auth.check(&req, now) {
        tracing::warn!(error = %e, "unsigned or forged answer webhook refused");
        return ApiError::Unauthorized(e).into_response();
    }
    let started = std::time::Instant::now();
    let (ncco, outcome) = answer(deps, &req, now).await;
    telemetry::count("Calls", &[("Outcome", outcome.as_str())]);
    telemetry::metric(
        "AnswerLatency",
        started.elapsed().as_secs_f64() * 1000.0,
        telemetry::Unit::Milliseconds,
        &[],
    );
    ncco_response(&ncco)
}

/// Decides the NCCO for one inbound call at time `now`.
pub async fn answer<R: RouteReader>(deps: &Deps<R>, req: &Request, now: i64) -> (Ncco, Outcome) {
    let fallback = shared::http::path(req).ends_with("/fallback");
    let Some(fields) = webhook_fields(req) else {
        tracing::warn!(fallback, "answer webhook with an unreadable body");
        return (Ncco::say(&deps.call.out_of_service), Outcome::Unreadable);
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let span = tracing::info_span!(
        "answer",
        uuid = field("uuid"),
        conversation_uuid = field("conversation_uuid"),
        to = %mask(field("to")),
        from = %mask(field("from")),
        fallback,
    );
    if fallback {
        span.in_scope(|| tracing::warn!(reason = field("reason"), "fallback answer URL called"));
    }
    let (to, from) = (field("to"), field("from"));
    decide(deps, req, to, from, now).instrument(span).await
}

async fn decide<R: RouteReader>(
    deps: &Deps<R>,
    req: &Request,
    to: &str,
    from: &str,
    now: i64,
) -> (Ncco, Outcome) {
    let (Some(proxy), Some(caller)) = (Msisdn::from_digits(to), Msisdn::from_digits(from)) else {
        tracing::info!(outcome = "unknown_caller", "no usable to/from on the call");
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    let route = match deps.routes.route(&proxy, &caller).await {
        Ok(route) => route,
        Err(e) => {
            tracing::error!(outcome = "store_failed", error = %error_chain(&e), "route lookup failed");
            return (Ncco::say(&deps.call.unavailable), Outcome::StoreFailed);
        }
    };
    let Some(route) = route else {
        tracing::info!(
            outcome = "unknown_caller",
            "no route for this caller and number"
        );
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    if now >= route.expires_at {
        tracing::info!(outcome = "expired", conversation_id = %route.conversation_id, "conversation has expired");
        return (Ncco::say(&deps.call.out_of_service), Outcome::Expired);
    }
    if !route.mode.voice() {
        tracing::info!(outcome = "voice_off", conversation_id = %route.conversation_id, "conversation relays texts only");
        return (Ncco::say(&deps.call.out_of_service), Outcome::VoiceOff);
    }
    let base = deps
        .call
        .public_base_url
        .clone()
        .unwrap_or_else(|| request_base_url(req));
    tracing::info!(
        outcome = "connected",
        conversation_id = %route.conversation_id,
        callee = %route.callee.masked(),
        caller_id = %route.callee_proxy.masked(),
        "connecting"
    );
    let ncco = Ncco::connect(
        &deps.call.announcement,
        &route.callee,
        &route.callee_proxy,
        deps.call.ring_timeout_seconds,
        deps.call.call_limit_seconds,
        &format!("{base}/webhooks/event"),
    );
    (ncco, Outcome::Connected)
}

/// The NCCO for a call that cannot be handled at all (the function could not start, or the call
/// ran out of its time budget).
pub fn unavailable(call: &CallConfig) -> Response<Body> {
    ncco_response(&Ncco::say(&call.unavailable))
}

fn ncco_response(ncco: &Ncco) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(ncco.to_json()))
        .unwrap_or_else(|_| Response::new(Body::Text(ncco.to_json())))
}

impl<R: RouteReader> shared::runtime::Handler for Deps<R> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
