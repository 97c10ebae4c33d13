//! The call log: each call-status event Vonage sends is matched to the conversation its call
//! went through and kept there once; the first answered call moves the conversation to
//! in-progress, and a sliding conversation's expiry moves along with its calls.

use crate::domain::Retention;
use crate::model::{CallEvent, Direction};
use crate::phone::{Msisdn, mask};
use crate::ports::CallLog;
use crate::store::{CallRef, StoreError};

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    /// No conversation knows this call: acknowledged and logged.
    UnknownCall,
    /// Not a call-status event (a `record`, `input`, `transfer` or error result).
    NotAStatus,
}

/// A call-status event as read from the request.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event: CallEvent,
    pub to: String,
    pub from: String,
}

/// Keeps an event on its conversation and notes the activity there.
pub async fn record<S: CallLog>(
    store: &S,
    retention: Retention,
    incoming: &Incoming,
    now: i64,
) -> Result<Outcome, StoreError> {
    let event = &incoming.event;
    let Some(call) = find_call(store, retention, incoming).await? else {
        tracing::info!(
            call_id = %event.call_id,
            status = %event.status,
            to = %mask(&incoming.to),
            from = %mask(&incoming.from),
            "event for a call no conversation knows"
        );
        return Ok(Outcome::UnknownCall);
    };
    let Some(conversation) = store.conversation(&call.conversation_id).await? else {
        tracing::info!(call_id = %event.call_id, "event for a conversation that is gone");
        return Ok(Outcome::UnknownCall);
    };
    let mut event = event.clone();
    event.caller_index = call.caller_index;
    let keep_until = retention.until(conversation.expires_at, now);
    store
        .record_event(&conversation.id, &event, keep_until)
        .await?;
    store
        .note_activity(
            &conversation,
            event.at_ms / 1000,
            event.status.is_answered(),
        )
        .await?;
    tracing::info!(conversation_id = %conversation.id, call_id = %event.call_id, status = %event.status, "call event recorded");
    Ok(Outcome::Recorded)
}

/// The conversation a call belongs to: remembered from its earlier events, or found through
/// the route it took. The caller's leg runs (proxy, caller); the callee's leg runs
/// (callee's proxy → callee), which is the callee's own route, read backwards.
async fn find_call<S: CallLog>(
    store: &S,
    retention: Retention,
    incoming: &Incoming,
) -> Result<Option<CallRef>, StoreError> {
    let call_id = &incoming.event.call_id;
    if let Some(known) = store.call_ref(call_id).await? {
        return Ok(Some(known));
    }
    let (Some(to), Some(from)) = (
        Msisdn::from_digits(&incoming.to),
        Msisdn::from_digits(&incoming.from),
    ) else {
        return Ok(None);
    };
    let legs: &[(bool, &Msisdn, &Msisdn)] = match incoming.event.direction {
        Some(Direction::Inbound) => &[(false, &to, &from)],
        Some(Direction::Outbound) => &[(true, &from, &to)],
        None => &[(false, &to, &from), (true, &from, &to)],
    };
    for (reversed, proxy, participant) in legs {
        if let Some(route) = store.route(proxy, participant).await? {
            let call = CallRef {
                conversation_id: route.conversation_id.clone(),
                caller_index: if *reversed {
                    1 - route.caller_index
                } else {
                    route.caller_index
                },
            };
            let keep_until = route.expires_at + retention.seconds;
            store.remember_call(call_id, &call, keep_until).await?;
            return Ok(Some(call));
        }
    }
    Ok(None)
}
