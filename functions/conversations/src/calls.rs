//! `POST /conversations/{id}/calls` (click-to-call): Vonage rings participant `from_index` from
//! their own proxy number (the number that stands for the other participant on their phone)
//! and, when they answer, connects them to the other participant with the other's proxy
//! number as caller ID, exactly as if they had dialled their proxy number (rule 1): the same
//! connect the answer webhook gives, built by `shared::domain::connect`. Nothing is written:
//! the call's URLs carry its conversation (sealed for it), so its events join the call log
//! through the event webhook, marked `initiated_by: "api"`.

use lambda_http::{Request, Response};
use serde::{Deserialize, Serialize};
use shared::config::CallConfig;
use shared::domain::connect::{self, Sealing, Urls};
use shared::http::{json_response, read_json, request_base_url};
use shared::ports::CallStarter;
use shared::problem::ApiError;
use shared::seal::{Carried, Seal};
use shared::vonage::{Api, NewCall, VoiceClient, VonageError};

use crate::{Deps, StorePorts};

/// What click-to-call needs: the Voice API with the application's key, what a connect says
/// and how long it rings, and what the call's own URLs are sealed with.
pub struct Calls<C = VoiceClient> {
    pub voice: C,
    pub call: CallConfig,
    pub seal: Seal,
}

/// The request's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    /// The participant who is rung first, and then connected to the other one.
    from_index: u8,
}

/// `202`'s body: Vonage's id of the call (its `conversation_uuid`, the `id` of its entry in
/// `GET /conversations/{id}`'s calls).
#[derive(Debug, Serialize)]
pub struct Started {
    pub call_id: String,
    pub conversation_id: String,
    pub from_index: u8,
    pub initiated_by: &'static str,
}

pub async fn start<S: StorePorts, V, C: CallStarter>(
    deps: &Deps<S, V, C>,
    req: &Request,
    raw_id: &str,
) -> Result<Response<lambda_http::Body>, ApiError> {
    let asked: StartRequest = read_json(req)?;
    if asked.from_index > 1 {
        return Err(ApiError::InvalidRequest(
            "from_index is 0 or 1: the participant rung first".into(),
        ));
    }
    let c = crate::find(deps, raw_id).await?;
    let now = shared::now();
    // Rule 4: past its expiry it is closed, whether or not the sweep has run.
    if !c.is_open_at(now) {
        return Err(ApiError::ConversationClosed(
            "the conversation is closed or expired: its numbers connect no calls".into(),
        ));
    }
    if !c.mode.voice() {
        return Err(ApiError::Conflict(
            "the conversation relays texts only: it connects no calls".into(),
        ));
    }
    let Some(calls) = &deps.calls else {
        return Err(ApiError::VonageUnavailable(VonageError::NotConfigured {
            api: Api::Voice,
        }));
    };
    let index = usize::from(asked.from_index);
    let routes = c.routes();
    let route = &routes[index];
    let caller = &c.participants[index];
    // A call that would ring someone inside their quiet hours is not made: not the participant
    // Vonage rings first, and not the other, whom nobody is rung only to be told about.
    let first_quiet = caller.quiet_window().is_some_and(|q| q.covers(now));
    if first_quiet || route.callee_quiet_at(now) {
        return Err(ApiError::QuietHours(format!(
            "participant {} is in their quiet hours: the call would ring them now",
            if first_quiet { index } else { 1 - index }
        )));
    }
    let base = calls
        .call
        .public_base_url
        .clone()
        .unwrap_or_else(|| request_base_url(req));
    let ncco = connect::bridge(
        &calls.call,
        route,
        &Urls {
            base: &base,
            seal: &calls.seal,
            sealing: Sealing::Started,
        },
    );
    // The caller's own leg: its events name the conversation and caller too.
    let event_url = calls.seal.url_for_started_call(
        &format!("{base}/webhooks/event"),
        &Carried {
            conversation_id: Some(c.id.to_string()),
            caller: Some(asked.from_index),
            ..Carried::default()
        },
    );
    let started = calls
        .voice
        .create_call(&NewCall {
            to: &caller.number,
            // The number that stands for the other participant on the caller's phone.
            from: &caller.proxy_number,
            ncco: &ncco,
            event_url: &event_url,
            ringing_timer: calls.call.ring_timeout_seconds,
        })
        .await
        .map_err(|e| {
            if e.is_transient() {
                ApiError::VonageUnavailable(e)
            } else {
                ApiError::VonageRefused(e)
            }
        })?;
    tracing::info!(
        conversation_id = %c.id,
        call_id = %started.conversation_uuid,
        from_index = asked.from_index,
        caller = %caller.number.masked(),
        caller_id = %caller.proxy_number.masked(),
        "call started"
    );
    shared::telemetry::count("CallsStarted", &[]);
    Ok(json_response(
        202,
        &Started {
            call_id: started.conversation_uuid,
            conversation_id: c.id.to_string(),
            from_index: asked.from_index,
            initiated_by: "api",
        },
    ))
}
