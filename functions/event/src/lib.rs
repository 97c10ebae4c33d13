//! The event webhook (`/webhooks/event`): every call-status event Vonage sends becomes part of
//! the call log of the conversation the call went through. It is also the connect's
//! synchronous event URL: for a call the callee did not take it answers the NCCO the caller
//! hears next (`200`); every other event gets `204`.

mod settings;

pub use settings::Settings;

use lambda_http::{Body, Request, Response};
use shared::config::{MissedCallConfig, WebhookMethods};
use shared::domain::Retention;
use shared::domain::calls;
use shared::domain::calls::CallStore;
pub use shared::domain::calls::{CallError, Incoming, Outcome, Recorded};
use shared::http::empty_response;
use shared::model::CallRef;
use shared::model::{CallEvent, Direction, InitiatedBy, RoutedBy};
use shared::problem::{ApiError, error_chain};
use shared::scheduler::Scheduler;
use shared::seal::STARTED_BY_API;
use shared::signature::{Signed, WebhookAuth};
use shared::store::Store;
use shared::values::CallStatus;

/// What the event webhook needs: the call log (`Store` in the stack, an in-memory fake in
/// handler tests) and the webhook signature check.
pub struct Deps<S = Store> {
    pub store: S,
    pub auth: WebhookAuth,
    /// `post` in the deployed stack: a `GET`'s query string is not covered by the signature.
    pub methods: WebhookMethods,
    /// How long call records are kept after their conversation's expiry.
    pub retention: Retention,
    /// What the caller hears after a call the callee did not take, and how often the callee
    /// is texted about it (and the texts catalogue, for a call's warning before its limit).
    pub missed: MissedCallConfig,
    /// Where a call's warning before its limit is scheduled (EventBridge Scheduler); `None`
    /// where no warnings are (`CALL_WARNING_*` unset).
    pub timers: Option<Scheduler>,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 10 s Lambda timeout:
/// past it the request gets a `503` with `Retry-After` rather than a Lambda timeout.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

pub async fn handle<S: CallStore>(deps: &Deps<S>, req: Request) -> Response<Body> {
    if let Err(refused) = ApiError::unless_allowed(deps.methods, req.method()) {
        return refused.into_response();
    }
    if let Err(e) = deps.auth.check(&req, shared::now()).await {
        tracing::warn!(error = %e, "unsigned or forged event webhook refused");
        shared::telemetry::count("WebhookRefused", &[]);
        return ApiError::Unauthorized(e).into_response();
    }
    let incoming = match parse_signed(&req, &deps.auth) {
        Ok(Some(incoming)) => incoming,
        Ok(None) => return empty_response(204),
        Err(e) => return e.into_response(),
    };
    match record(deps, &incoming, shared::now()).await {
        // The connect's synchronous event for a call the callee did not take: what the caller
        // hears next.
        Ok(Recorded {
            caller_hears: Some(ncco),
            ..
        }) => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::Text(ncco.to_json()))
            .unwrap_or_else(|_| empty_response(204)),
        Ok(_) => empty_response(204),
        // Vonage retries an event on a 503 (and on 429 and 504, not on a 500): better than
        // losing it. Each event is kept once, however often it comes, and a warning set once.
        Err(CallError::Store(e)) => {
            tracing::error!(call_id = %incoming.event.call_id, error = %error_chain(&e), "call event not recorded");
            ApiError::StoreUnavailable(e).into_response()
        }
        Err(CallError::Timer(e)) => {
            tracing::error!(call_id = %incoming.event.call_id, error = %error_chain(&e), "call's warning not set");
            ApiError::Unavailable.into_response()
        }
    }
}

/// Reads a call-status event as local work does (fields and our own parameters from the query
/// string too); `None` for an action-result event, which has no `status`.
pub fn parse(req: &Request) -> Result<Option<Incoming>, ApiError> {
    parse_signed(req, &WebhookAuth::Off)
}

/// Reads a call-status event whose signature `auth` checked: its fields as `auth` allows (the
/// signed body alone where webhooks are `POST` only), what our own event URL carried (sealed
/// for the call); `None` for an action-result event, which has no `status`.
pub fn parse_signed(req: &Request, auth: &WebhookAuth) -> Result<Option<Incoming>, ApiError> {
    let Signed { fields, carried } = auth
        .read(req)
        .map_err(|e| ApiError::unreadable_webhook(e, "event body"))?;
    let carried = carried.unwrap_or_default();
    let get = |k: &str| fields.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let call_id = get("conversation_uuid");
    let Some(status) = get("status") else {
        return match call_id.or(get("conversation_uuid_from")) {
            Some(_) => Ok(None),
            None => Err(ApiError::InvalidRequest(
                "an event has a status or a conversation_uuid".into(),
            )),
        };
    };
    let token = |v: &str, max: usize| {
        !v.is_empty()
            && v.len() <= max
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    };
    let status: CallStatus = status
        .parse()
        .map_err(|_| ApiError::InvalidRequest("status is not a call status".into()))?;
    let call_id = call_id.filter(|c| token(c, 64)).ok_or_else(|| {
        ApiError::InvalidRequest("conversation_uuid is missing or not an id".into())
    })?;
    let leg = get("uuid")
        .or(get("call_uuid"))
        .filter(|l| token(l, 64))
        .ok_or_else(|| ApiError::InvalidRequest("uuid is missing or not an id".into()))?;
    let at_ms = get("timestamp")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let direction = match get("direction") {
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        _ => None,
    };
    // A leg an access code connected, and every leg of a call the API started, names its
    // conversation and caller in our own event URL.
    let started = carried.routed.as_deref() == Some(STARTED_BY_API);
    let routed = match (&carried.conversation_id, carried.caller) {
        (Some(id), Some(caller)) if started || carried.routed.as_deref() == Some("code") => {
            Some(CallRef {
                conversation_id: id.parse().map_err(|_| {
                    ApiError::InvalidRequest("conversation_id is not a conversation id".into())
                })?,
                caller_index: match caller {
                    0 | 1 => caller,
                    _ => return Err(ApiError::InvalidRequest("caller is 0 or 1".into())),
                },
            })
        }
        _ => None,
    };
    let decimal = |k: &str| {
        get(k)
            .filter(|v| v.len() <= 24 && v.parse::<f64>().is_ok())
            .map(str::to_owned)
    };
    Ok(Some(Incoming {
        event: CallEvent {
            call_id: call_id.to_owned(),
            leg: leg.to_owned(),
            direction,
            shown_number: None,
            status,
            at_ms,
            caller_index: 0,
            duration: get("duration").and_then(|d| d.parse().ok()),
            rate: decimal("rate"),
            price: decimal("price"),
            detail: get("detail").filter(|d| token(d, 64)).map(str::to_owned),
            routed_by: if routed.is_some() && !started {
                RoutedBy::Code
            } else {
                RoutedBy::CallerId
            },
            initiated_by: if started {
                InitiatedBy::Api
            } else {
                InitiatedBy::Caller
            },
        },
        to: get("to").unwrap_or_default().to_owned(),
        from: get("from").unwrap_or_default().to_owned(),
        base_url: shared::http::request_base_url(req),
        routed,
        seal: auth.seal(),
    }))
}

/// Keeps an event on its conversation, notes the activity there, times the call's warning
/// before its limit, and follows up a call the callee did not take.
pub async fn record<S: CallStore>(
    deps: &Deps<S>,
    incoming: &Incoming,
    now: i64,
) -> Result<Recorded, CallError> {
    calls::record_and_time(
        &deps.store,
        deps.timers.as_ref(),
        deps.retention,
        &deps.missed,
        incoming,
        now,
    )
    .await
}

impl<S: CallStore> shared::runtime::Handler for Deps<S> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
