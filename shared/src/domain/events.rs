//! The event catalogue (PRODUCT.md, "Events"): what each change of the table means to the
//! marketplace, as EventBridge events with `source` = [`SOURCE`]. Events are derived from the
//! change itself, so a state change and its event cannot disagree. Participants are named by
//! index and label; no real phone number is ever put in one (proxy numbers may be).

use serde_json::{Value, json};

use crate::model::Change;
use crate::model::HookKind;
use crate::model::{
    ClearReason, CloseReason, Conversation, ConversationStatus, DeliveryState, Direction,
    NotificationStatus, NumberState, SentText, TextKind,
};
use crate::values::MessageStatus;

/// The `source` of every event.
pub const SOURCE: &str = "voice-proxy";

/// Every detail-type the catalogue has; each has a JSON Schema in `schemas/events/`.
pub const DETAIL_TYPES: [&str; 20] = [
    "conversation.created",
    "conversation.closed",
    "participant.notified",
    "participant.notification_delivered",
    "participant.notification_failed",
    "call.answered",
    "call.completed",
    "call.missed",
    "message.relayed",
    "message.delivered",
    "message.failed",
    "number.added",
    "number.retired",
    "number.released",
    "number.flagged",
    "number.cleared",
    "pool.exhausted",
    "call.out_of_session",
    "call.intercepted",
    "console.number_revealed",
];

/// One event, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub detail_type: &'static str,
    /// Carries `event_id`, `occurred_at` and the detail-type's own fields.
    pub detail: Value,
}

impl Event {
    pub fn event_id(&self) -> &str {
        self.detail["event_id"].as_str().unwrap_or_default()
    }
}

/// The events one change means. `change_id` names the change and stays the same when the
/// stream delivers it again (the stream record's `eventID`), so each event's `event_id`
/// (`change_id` and the event's place among this change's events) does too. `occurred_at` is
/// when the change was made (unix seconds).
pub fn derive(change: &Change, change_id: &str, occurred_at: i64) -> Vec<Event> {
    let mut events = Vec::new();
    let mut push = |detail_type: &'static str, mut detail: Value| {
        let fields = detail.as_object_mut();
        if let Some(fields) = fields {
            fields.insert(
                "event_id".into(),
                json!(format!("{change_id}:{}", events.len())),
            );
            fields.insert("occurred_at".into(), json!(crate::rfc3339(occurred_at)));
        }
        events.push(Event {
            detail_type,
            detail,
        });
    };
    match change {
        Change::Conversation { old, new } => match (old.as_deref(), new.as_deref()) {
            (None, Some(c)) => push("conversation.created", created(c)),
            (Some(before), Some(after)) => {
                for (index, (was, is)) in before
                    .participants
                    .iter()
                    .zip(&after.participants)
                    .enumerate()
                {
                    if was.notified() != Some(NotificationStatus::Pending) {
                        continue;
                    }
                    let mut detail = about(after);
                    detail["index"] = json!(index);
                    if let Some(label) = &is.label {
                        detail["label"] = json!(label);
                    }
                    match is.notification.as_ref() {
                        Some(n) if n.status == NotificationStatus::Sent => {
                            push("participant.notified", detail)
                        }
                        Some(n) if n.status == NotificationStatus::Failed => {
                            detail["reason"] = json!(reason_code(n.reason.as_deref()));
                            push("participant.notification_failed", detail)
                        }
                        _ => {}
                    }
                }
                if before.status != ConversationStatus::Closed
                    && after.status == ConversationStatus::Closed
                {
                    let reason = match after.close_reason {
                        Some(CloseReason::Expired) => "expired",
                        _ => "closed",
                    };
                    let mut detail = about(after);
                    detail["reason"] = json!(reason);
                    push("conversation.closed", detail);
                }
            }
            _ => {}
        },
        Change::CallEvent {
            conversation_id,
            event,
        } => {
            // The callee's leg says what became of a call; the caller's would say it twice.
            if event.direction == Some(Direction::Outbound) {
                let base = json!({
                    "conversation_id": conversation_id,
                    "call_id": event.call_id,
                    "from_index": event.caller_index,
                    "to_index": 1 - event.caller_index.min(1),
                });
                let status = event.status.as_str();
                if status == "answered" {
                    push("call.answered", base);
                } else if status == "completed" {
                    let mut detail = base;
                    detail["duration"] = json!(event.duration);
                    detail["price"] = json!(event.price);
                    push("call.completed", detail);
                } else if event.status.is_missed() {
                    let mut detail = base;
                    detail["reason"] = json!(status);
                    push("call.missed", detail);
                }
            }
        }
        Change::Message {
            conversation_id,
            message,
        } => {
            if message.status == MessageStatus::Submitted {
                push(
                    "message.relayed",
                    json!({
                        "conversation_id": conversation_id,
                        "from_index": message.from_index,
                        "to_index": 1 - message.from_index.min(1),
                        "parts": message.parts,
                    }),
                );
            }
        }
        Change::PoolExhausted(e) => push(
            "pool.exhausted",
            json!({"country": e.country, "index": e.index}),
        ),
        Change::Hook(d) => {
            let mut detail = json!({
                "channel": d.channel,
                "action": d.action,
                "proxy_number": d.proxy_number.as_str(),
            });
            if let Some(id) = &d.conversation_id {
                detail["conversation_id"] = json!(id);
            }
            if let Some(reference) = &d.reference {
                detail["reference"] = json!(reference);
            }
            if let Some(index) = d.from_index {
                detail["from_index"] = json!(index);
                detail["to_index"] = json!(1 - index.min(1));
            }
            let detail_type = match d.hook {
                HookKind::OutOfSession => "call.out_of_session",
                HookKind::Intercept => "call.intercepted",
            };
            push(detail_type, detail)
        }
        Change::Number { old, new } => {
            let number = |n: &crate::model::PoolNumber| json!({"proxy_number": n.msisdn.as_str(), "country": n.country});
            match (old, new) {
                (None, Some(n)) => push("number.added", number(n)),
                (Some(before), Some(after)) => {
                    if before.state != NumberState::Retired && after.state == NumberState::Retired {
                        push("number.retired", number(after));
                    }
                    match (&before.health_flag, &after.health_flag) {
                        (None, Some(flag)) => {
                            let mut detail = number(after);
                            detail["answered"] = json!(flag.number.answered);
                            detail["calls"] = json!(flag.number.calls);
                            detail["rate"] = json!(rounded(flag.number.rate()));
                            detail["pool_rate"] = json!(rounded(flag.rest.rate()));
                            push("number.flagged", detail);
                        }
                        (Some(_), None) => {
                            let mut detail = number(after);
                            detail["reason"] = json!(
                                after
                                    .health_cleared
                                    .map_or(ClearReason::Cleared, |c| c.reason)
                                    .as_str()
                            );
                            push("number.cleared", detail);
                        }
                        _ => {}
                    }
                }
                (Some(n), None) => push("number.released", number(n)),
                _ => {}
            }
        }
        // The call itself is `call.missed`, from its callee's leg; the SMS is the notifier's.
        Change::MissedCall { .. } => {}
        Change::Text { old, new } => {
            if let Some((detail_type, detail)) = delivered(old.as_ref(), new.as_ref()) {
                push(detail_type, detail);
            }
        }
        Change::Reveal(r) => {
            let mut detail = json!({
                "conversation_id": r.conversation_id,
                "index": r.index,
                "revealed_by": r.by,
                "reason": r.reason,
            });
            if let Some(reference) = &r.reference {
                detail["reference"] = json!(reference);
            }
            if let Some(label) = &r.label {
                detail["label"] = json!(label);
            }
            push("console.number_revealed", detail)
        }
    }
    events
}

/// A notification's failure as an event names it: one of the fixed codes, never a provider's
/// text (a failure recorded before the codes were is `vonage_error`).
fn reason_code(reason: Option<&str>) -> &'static str {
    use crate::domain::notify::{CONVERSATION_CLOSED, NOT_SMS_CAPABLE, REJECTED, VONAGE_ERROR};
    [REJECTED, CONVERSATION_CLOSED, NOT_SMS_CAPABLE, VONAGE_ERROR]
        .into_iter()
        .find(|code| reason == Some(*code))
        .unwrap_or(VONAGE_ERROR)
}

/// The event a sent text's change means: once it has both an owner and a final state, and
/// had not both before (the owner and the state come in either order). A missed call's text
/// has no event of its own.
fn delivered(old: Option<&SentText>, new: Option<&SentText>) -> Option<(&'static str, Value)> {
    let known = |t: Option<&SentText>| {
        t.filter(|t| t.owner.is_some() && t.state != DeliveryState::Submitted)
            .map(|t| t.state)
    };
    let new = new?;
    let state = known(Some(new))?;
    if known(old).is_some() {
        return None;
    }
    let owner = new.owner.as_ref()?;
    let mut detail = json!({"conversation_id": owner.conversation_id});
    if let Some(reference) = &owner.reference {
        detail["reference"] = json!(reference);
    }
    let failed = state == DeliveryState::Failed;
    if failed {
        detail["reason"] = json!(new.reason.as_deref().unwrap_or("undeliverable"));
    }
    let detail_type = match &owner.kind {
        TextKind::Notification { index, label } => {
            detail["index"] = json!(index);
            if let Some(label) = label {
                detail["label"] = json!(label);
            }
            if failed {
                "participant.notification_failed"
            } else {
                "participant.notification_delivered"
            }
        }
        TextKind::Relayed { from_index } => {
            detail["from_index"] = json!(from_index);
            detail["to_index"] = json!(1 - from_index.min(&1));
            if failed {
                "message.failed"
            } else {
                "message.delivered"
            }
        }
        TextKind::MissedCall { .. } => return None,
    };
    Some((detail_type, detail))
}

/// An answer rate to four places (`0` with no calls).
fn rounded(rate: Option<f64>) -> f64 {
    (rate.unwrap_or(0.0) * 10_000.0).round() / 10_000.0
}

/// `conversation_id` and, when it has one, `reference`.
fn about(c: &Conversation) -> Value {
    let mut detail = json!({"conversation_id": c.id});
    if let Some(reference) = &c.reference {
        detail["reference"] = json!(reference);
    }
    detail
}

fn created(c: &Conversation) -> Value {
    let mut detail = about(c);
    detail["participants"] = c
        .participants
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let mut shown = json!({
                "index": index,
                "proxy_number": p.proxy_number.as_str(),
                "country": p.country,
            });
            if let Some(label) = &p.label {
                shown["label"] = json!(label);
            }
            shown
        })
        .collect();
    detail["expires_at"] = json!(crate::rfc3339(c.expires_at));
    detail["mode"] = json!(c.mode);
    detail
}
