//! The backend decides (PRODUCT.md, "Hooks"). A call or text no open conversation takes is put
//! to the out-of-session hook; a call or text of a conversation created with `intercept` is put
//! to the intercept hook first. Their answers are checked, then carried out and recorded (the
//! change stream publishes `call.out_of_session` and `call.intercepted`).
//!
//! Whatever a hook does wrong (it hangs, answers a non-2xx or something that is not one of the
//! actions, or names a conversation the caller was not part of) the call or text gets the
//! default: the safe message, no relay, and nothing written. The intercept hook is the one
//! exception its contract makes: a hook that does not answer in time (or cannot be reached)
//! lets the call or text through.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ConversationConfig;
use crate::domain::conversation::{self, ClosePolicy, Reopened};
use crate::error::error_chain;
use crate::hook::HookClient;
use crate::model::{CallRef, Channel, HookDecision, HookKind, StoreError};
use crate::model::{Conversation, Route};
use crate::phone::Msisdn;
use crate::ports::{CallLog, Conversations, HookLog, RouteReader};
use crate::values::{ConversationId, Label, Reference};

/// The out-of-session hook's request.
#[derive(Debug, Serialize)]
pub struct OutOfSession<'a> {
    pub channel: Channel,
    pub proxy_number: &'a str,
    /// The caller's or sender's real number: the backend's own customer.
    pub caller: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    pub last_conversation: Option<LastConversation>,
}

/// The conversation the caller last had on the proxy number, within its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastConversation {
    pub id: ConversationId,
    pub reference: Option<Reference>,
    /// The caller's index in it.
    pub index: u8,
    pub label: Option<Label>,
    /// `active`, `in-progress` or `closed` (an expired one is `closed`, swept or not).
    pub status: &'static str,
}

/// The intercept hook's request.
#[derive(Debug, Serialize)]
pub struct Intercept<'a> {
    pub channel: Channel,
    pub conversation_id: &'a ConversationId,
    pub reference: Option<&'a Reference>,
    pub from_index: u8,
    pub to_index: u8,
}

/// What the out-of-session hook may answer for a call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallAnswer {
    /// A one-off bridge to the conversation's other participant.
    Connect {
        conversation_id: ConversationId,
    },
    /// Open the conversation again, then connect.
    Reopen {
        conversation_id: ConversationId,
        #[serde(default)]
        ttl_seconds: Option<u64>,
    },
    Say {
        text: String,
    },
    Reject,
}

/// What the out-of-session hook may answer for a text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TextAnswer {
    /// Send it on to the conversation's other participant.
    Relay {
        conversation_id: ConversationId,
    },
    /// Text the sender back.
    Reply {
        text: String,
    },
    Ignore,
}

/// What the intercept hook may answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum InterceptAnswer {
    Allow,
    Deny {
        #[serde(default)]
        text: Option<String>,
    },
}

/// What becomes of a call the out-of-session hook was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Connect through this route (the caller's in the conversation named, one-off or
    /// reopened): to the other participant, with their proxy number as caller ID.
    Connect(Box<Route>),
    Say(String),
    Reject,
    /// Nothing usable came back: the default, for this reason.
    Default(&'static str),
}

/// What becomes of a text the out-of-session hook was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextOutcome {
    Relay(Box<Route>),
    Reply(String),
    Ignore,
    Default(&'static str),
}

/// The intercept hook's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Not put through; the caller hears, or the sender is texted, this (the default message
    /// when `None`).
    Deny(Option<String>),
}

/// A call or text nobody planned for, as the hook is told about it.
#[derive(Debug, Clone)]
pub struct Unplanned<'a> {
    pub channel: Channel,
    pub proxy: &'a Msisdn,
    pub caller: &'a Msisdn,
    /// The call's `conversation_uuid` or the text's message id.
    pub key: &'a str,
    pub text: Option<&'a str>,
    /// The conversation of a route that matched but has expired (the sweep has not run yet).
    pub expired: Option<&'a ConversationId>,
}

/// The caller's place in conversation `c`: their index, if they are one of its participants.
fn index_of(c: &Conversation, caller: &Msisdn) -> Option<u8> {
    c.participants
        .iter()
        .position(|p| &p.number == caller)
        .map(|i| i as u8)
}

/// A text a hook may have spoken or texted: not blank, and no longer than a `talk` action
/// speaks; anything else is not an action.
fn usable_text(text: &str) -> bool {
    !text.trim().is_empty() && text.chars().count() <= crate::ncco::MAX_TALK_CHARS
}

fn count(hook: &str, outcome: &str) {
    crate::telemetry::count("HookCalls", &[("Hook", hook), ("Outcome", outcome)]);
}

/// The conversation this caller last had on this number (the expired one their route still
/// names, or the one whose close freed the pair), and their index in it.
async fn last_conversation<S: HookLog + Conversations>(
    store: &S,
    call: &Unplanned<'_>,
) -> Result<Option<(Conversation, u8)>, StoreError> {
    let c = match call.expired {
        Some(id) => store.conversation(id).await?,
        None => store.last_conversation(call.proxy, call.caller).await?,
    };
    Ok(c.and_then(|c| index_of(&c, call.caller).map(|i| (c, i))))
}

fn described(c: &Conversation, index: u8, now: i64) -> LastConversation {
    LastConversation {
        id: c.id.clone(),
        reference: c.reference.clone(),
        index,
        label: c.participants[usize::from(index.min(1))].label.clone(),
        status: c.status_at(now).as_str(),
    }
}

/// Asks the out-of-session hook, returning its answer and the last conversation it was told of.
async fn ask<S: HookLog + Conversations, A: serde::de::DeserializeOwned>(
    store: &S,
    hook: &HookClient,
    u: &Unplanned<'_>,
    now: i64,
    budget: Duration,
) -> Result<(A, Option<(Conversation, u8)>), &'static str> {
    let last = last_conversation(store, u).await.map_err(|e| {
        tracing::error!(error = %error_chain(&e), "the caller's last conversation could not be read");
        "store_failed"
    })?;
    let request = OutOfSession {
        channel: u.channel,
        proxy_number: u.proxy.as_str(),
        caller: u.caller.as_str(),
        text: u.text,
        last_conversation: last.as_ref().map(|(c, i)| described(c, *i, now)),
    };
    match hook.call::<A>(&request, budget).await {
        Ok(answer) => Ok((answer, last)),
        Err(e) => {
            tracing::warn!(hook = "out_of_session", reason = e.reason(), error = %e, "hook answer not used");
            Err(e.reason())
        }
    }
}

/// The conversation an answer names and the caller's index in it; refused (with the reason)
/// unless the caller was one of its participants.
async fn theirs<S: HookLog + Conversations>(
    store: &S,
    id: &ConversationId,
    caller: &Msisdn,
    last: Option<(Conversation, u8)>,
) -> Result<(Conversation, u8), &'static str> {
    let found = match last {
        Some((c, i)) if &c.id == id => Some((c, i)),
        _ => store
            .conversation(id)
            .await
            .map_err(|e| {
                tracing::error!(error = %error_chain(&e), "the conversation a hook named could not be read");
                "store_failed"
            })?
            .and_then(|c| index_of(&c, caller).map(|i| (c, i))),
    };
    found.ok_or_else(|| {
        tracing::warn!(conversation_id = %id, "hook named a conversation the caller is not part of");
        "not_a_participant"
    })
}

/// Records a hook's answer that was carried out; a failure is logged, never the caller's.
async fn record<S: HookLog + Conversations>(store: &S, decision: HookDecision) {
    if let Err(e) = store.record_hook(&decision).await {
        tracing::error!(error = %error_chain(&e), action = %decision.action, "hook decision not recorded");
    }
}

fn decision(
    hook: HookKind,
    u: &Unplanned<'_>,
    action: &str,
    named: Option<&(Conversation, u8)>,
    now: i64,
) -> HookDecision {
    HookDecision {
        key: u.key.to_owned(),
        hook,
        channel: u.channel,
        action: action.to_owned(),
        proxy_number: u.proxy.clone(),
        conversation_id: named.map(|(c, _)| c.id.clone()),
        reference: named.and_then(|(c, _)| c.reference.clone()),
        from_index: named.map(|(_, i)| *i),
        at_ms: now * 1000,
    }
}

/// The out-of-session hook's decision for a call, carried out: a one-off bridge (the call is
/// remembered on the conversation, so its events reach its call log), a reopened conversation,
/// a message, or a rejection. `budget` is what remains for the hook within the call's own.
pub async fn call<S: HookLog + Conversations + RouteReader + CallLog>(
    store: &S,
    hook: &HookClient,
    settings: &ConversationConfig,
    u: &Unplanned<'_>,
    now: i64,
    budget: Duration,
) -> CallOutcome {
    let outcome = decide_call(store, hook, settings, u, now, budget)
        .await
        .unwrap_or_else(CallOutcome::Default);
    let shown = match &outcome {
        CallOutcome::Connect(_) => "connected",
        CallOutcome::Say(_) => "say",
        CallOutcome::Reject => "reject",
        CallOutcome::Default(reason) => reason,
    };
    count("out_of_session", shown);
    outcome
}

async fn decide_call<S: HookLog + Conversations + RouteReader + CallLog>(
    store: &S,
    hook: &HookClient,
    settings: &ConversationConfig,
    u: &Unplanned<'_>,
    now: i64,
    budget: Duration,
) -> Result<CallOutcome, &'static str> {
    let (answer, last) = ask::<S, CallAnswer>(store, hook, u, now, budget).await?;
    let kind = HookKind::OutOfSession;
    Ok(match answer {
        CallAnswer::Say { text } if usable_text(&text) => {
            record(store, decision(kind, u, "say", None, now)).await;
            CallOutcome::Say(text)
        }
        CallAnswer::Say { .. } => return Err("unreadable"),
        CallAnswer::Reject => {
            record(store, decision(kind, u, "reject", None, now)).await;
            CallOutcome::Reject
        }
        CallAnswer::Connect { conversation_id } => {
            let named = theirs(store, &conversation_id, u.caller, last).await?;
            let (c, index) = &named;
            let call = CallRef {
                conversation_id: c.id.clone(),
                caller_index: *index,
            };
            let retention = ClosePolicy::from(settings).retention;
            if let Err(e) = store
                .remember_call(u.key, &call, retention.until(now, now))
                .await
            {
                tracing::error!(error = %error_chain(&e), "one-off call not remembered; its events will not reach the call log");
            }
            record(store, decision(kind, u, "connect", Some(&named), now)).await;
            tracing::info!(conversation_id = %c.id, "one-off bridge for a conversation not open");
            CallOutcome::Connect(Box::new(route_of(c, *index)))
        }
        CallAnswer::Reopen {
            conversation_id,
            ttl_seconds,
        } => {
            let named = theirs(store, &conversation_id, u.caller, last).await?;
            let ttl = ttl_seconds.unwrap_or(settings.default_ttl_seconds);
            if !(settings.min_ttl_seconds..=settings.max_ttl_seconds).contains(&ttl) {
                tracing::warn!(
                    ttl,
                    "hook asked to reopen for a TTL outside the configured bounds"
                );
                return Err("unreadable");
            }
            let (c, index) = &named;
            let policy = ClosePolicy::from(settings);
            match conversation::reopen(store, &c.id, ttl as i64, now, policy).await {
                Ok(Reopened::Reopened(open) | Reopened::AlreadyOpen(open)) => {
                    record(store, decision(kind, u, "reopen", Some(&named), now)).await;
                    CallOutcome::Connect(Box::new(route_of(&open, *index)))
                }
                Err(e) => {
                    tracing::warn!(conversation_id = %c.id, error = %e, "hook's reopen refused");
                    return Err("reopen_refused");
                }
            }
        }
    })
}

/// Participant `index`'s route in `c`: the way to the other participant.
fn route_of(c: &Conversation, index: u8) -> Route {
    let [a, b] = c.routes();
    if index == 0 { a } else { b }
}

/// The out-of-session hook's decision for a text: relay it to the named conversation's other
/// participant, reply to the sender, or ignore it (carried out by the relay).
pub async fn text<S: HookLog + Conversations>(
    store: &S,
    hook: &HookClient,
    u: &Unplanned<'_>,
    now: i64,
) -> TextOutcome {
    let outcome = decide_text(store, hook, u, now)
        .await
        .unwrap_or_else(TextOutcome::Default);
    let shown = match &outcome {
        TextOutcome::Relay(_) => "relay",
        TextOutcome::Reply(_) => "reply",
        TextOutcome::Ignore => "ignore",
        TextOutcome::Default(reason) => reason,
    };
    count("out_of_session", shown);
    outcome
}

async fn decide_text<S: HookLog + Conversations>(
    store: &S,
    hook: &HookClient,
    u: &Unplanned<'_>,
    now: i64,
) -> Result<TextOutcome, &'static str> {
    let (answer, last) = ask::<S, TextAnswer>(store, hook, u, now, hook.timeout()).await?;
    let kind = HookKind::OutOfSession;
    Ok(match answer {
        TextAnswer::Reply { text } if usable_text(&text) => {
            record(store, decision(kind, u, "reply", None, now)).await;
            TextOutcome::Reply(text)
        }
        TextAnswer::Reply { .. } => return Err("unreadable"),
        TextAnswer::Ignore => {
            record(store, decision(kind, u, "ignore", None, now)).await;
            TextOutcome::Ignore
        }
        TextAnswer::Relay { conversation_id } => {
            let named = theirs(store, &conversation_id, u.caller, last).await?;
            record(store, decision(kind, u, "relay", Some(&named), now)).await;
            TextOutcome::Relay(Box::new(route_of(&named.0, named.1)))
        }
    })
}

/// Asks the intercept hook whether a call or text on `route` may go through. It lets it
/// through when the hook does not answer in time or cannot be reached; an answer that is not
/// an action denies it with the default message. A denial is recorded.
pub async fn intercept<S: HookLog + Conversations>(
    store: &S,
    hook: &HookClient,
    channel: Channel,
    route: &Route,
    key: &str,
    now: i64,
    budget: Duration,
) -> Verdict {
    let request = Intercept {
        channel,
        conversation_id: &route.conversation_id,
        reference: route.reference.as_ref(),
        from_index: route.caller_index,
        to_index: 1 - route.caller_index.min(1),
    };
    let verdict = match hook.call::<InterceptAnswer>(&request, budget).await {
        Ok(InterceptAnswer::Allow) => Verdict::Allow,
        Ok(InterceptAnswer::Deny { text }) => {
            let text = text.filter(|t| usable_text(t));
            let d = HookDecision {
                key: key.to_owned(),
                hook: HookKind::Intercept,
                channel,
                action: "deny".into(),
                proxy_number: route.proxy_number.clone(),
                conversation_id: Some(route.conversation_id.clone()),
                reference: route.reference.clone(),
                from_index: Some(route.caller_index),
                at_ms: now * 1000,
            };
            record(store, d).await;
            Verdict::Deny(text)
        }
        Err(e) => {
            tracing::warn!(hook = "intercept", reason = e.reason(), error = %e, conversation_id = %route.conversation_id, "intercept hook answer not used");
            count("intercept", e.reason());
            return if e.no_answer() {
                Verdict::Allow
            } else {
                Verdict::Deny(None)
            };
        }
    };
    count(
        "intercept",
        match verdict {
            Verdict::Allow => "allow",
            Verdict::Deny(_) => "deny",
        },
    );
    verdict
}

/// What remains of `deadline` for a hook, keeping `reserve` for acting on its answer.
pub fn budget_until(deadline: tokio::time::Instant, reserve: Duration) -> Duration {
    deadline
        .saturating_duration_since(tokio::time::Instant::now())
        .saturating_sub(reserve)
}
