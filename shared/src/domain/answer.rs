//! What becomes of an inbound call: read once from its signed fields ([`InboundCall`]), then
//! decided ([`decide`] for the answer webhook, [`typed_code`] for the keys typed at the code
//! prompt) into a [`Plan`], which the answer function renders as an NCCO. One route lookup on
//! the way in; a caller ID that cannot route to exactly one conversation is asked for a code
//! when codes are on; a call no open conversation takes goes to the out-of-session hook, and a
//! call of a conversation with `intercept` to its intercept hook, when they are configured. A
//! call that would ring its callee inside their quiet hours is not connected, however it was
//! routed, and is followed up as a missed call (`domain::calls`). Every way out names its
//! [`Outcome`]; none is an error, so the caller always hears something (rule 3).

use std::collections::HashMap;

use crate::config::{AccessCodeConfig, ConversationConfig, MissedCallConfig};
use crate::domain::calls::{self, CallStore, Untaken};
use crate::domain::hooks::{self, CallOutcome, Unplanned, Verdict};
use crate::error::error_chain;
use crate::hook::Hooks;
use crate::model::{Channel, CodeGuess, GuessSpent, Route, RoutedBy};
use crate::phone::Msisdn;
use crate::ports::{AccessCodes, HookLog};
use crate::seal::Carried;
use crate::signature::Signed;
use crate::telemetry;
use crate::values::{AccessCode, CallStatus, ConversationId, Language};

/// What answering a call needs of the store.
pub trait AnswerStore: CallStore + HookLog + AccessCodes {}
impl<T: CallStore + HookLog + AccessCodes> AnswerStore for T {}

/// Kept from a hook's budget for carrying out its answer (a reopen's transaction, the record of
/// the decision) inside the call's own.
pub const ACTING_RESERVE: std::time::Duration = std::time::Duration::from_millis(250);

/// One inbound call as its webhook signed it, read once.
#[derive(Debug, Clone)]
pub struct InboundCall<'a> {
    /// The proxy number called (`to`), if it is a number.
    pub proxy: Option<Msisdn>,
    /// The caller (`from`), if it is a number: a withheld caller is `None`.
    pub caller: Option<Msisdn>,
    /// Vonage's id of the whole call: the key of a hook's decision about it.
    pub key: &'a str,
    /// The call's `conversation_uuid` as signed, which what our URLs carry is sealed for.
    pub sealed_for: &'a str,
    /// The caller's leg (`uuid`), which a callee's refusal at the prompt transfers.
    pub leg: &'a str,
    /// What our own URL carried back, opened.
    pub carried: Option<&'a Carried>,
    /// The keys pressed at an `input`, if any.
    pub pressed: Option<String>,
    pub now: i64,
    /// When the call's budget ends: a hook gets what remains of it.
    pub deadline: tokio::time::Instant,
}

impl<'a> InboundCall<'a> {
    pub fn read(signed: &'a Signed, now: i64, deadline: tokio::time::Instant) -> Self {
        let sealed_for = signed.field("conversation_uuid");
        Self {
            proxy: Msisdn::from_digits(signed.field("to")),
            caller: Msisdn::from_digits(signed.field("from")),
            key: if sealed_for.is_empty() {
                signed.field("uuid")
            } else {
                sealed_for
            },
            sealed_for,
            leg: signed.field("uuid"),
            carried: signed.carried.as_ref(),
            pressed: pressed(&signed.fields),
            now,
            deadline,
        }
    }
}

/// The keys pressed at an `input`: `{"digits": "1", "timed_out": false}` in newer events, the
/// digits alone in older ones.
pub fn pressed(fields: &HashMap<String, String>) -> Option<String> {
    fields.get("dtmf").map(|d| {
        serde_json::from_str::<serde_json::Value>(d)
            .ok()
            .and_then(|v| v.get("digits").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_else(|| d.clone())
    })
}

/// What the caller is to hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Connected to the other participant of `route`, with their proxy number as caller ID.
    Connect { route: Route, routed_by: RoutedBy },
    /// Asked for an access code (try `attempt`).
    AskCode {
        attempt: u8,
        language: Option<Language>,
    },
    /// Told something, in `language` where the texts catalogue has it.
    Say {
        text: Said,
        language: Option<Language>,
    },
    /// Ended without a word (the out-of-session hook's `reject`).
    Reject,
    /// Not connected: the callee of `route` is in their quiet hours. The caller is told so in
    /// their language, and the conversation's missed-call setting follows (the notice for the
    /// callee's SMS is written already; a voicemail is rendered).
    Quiet { route: Route },
}

/// Which text the caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    OutOfService,
    Unavailable,
    CodeLocked,
    CodeRefused,
    /// A hook's own words.
    Hook(String),
}

impl Plan {
    fn say(text: Said, language: Option<&Language>) -> Self {
        Self::Say {
            text,
            language: language.cloned(),
        }
    }
}

/// How a call was answered, for the log line, the `Calls` metric and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Connected,
    UnknownCaller,
    Expired,
    /// The conversation relays texts only.
    VoiceOff,
    Unreadable,
    StoreFailed,
    /// The out-of-session hook had it connected (a one-off bridge or a reopened conversation).
    HookConnected,
    /// The out-of-session hook had a message spoken.
    HookSaid,
    /// The out-of-session hook rejected it.
    HookRejected,
    /// The intercept hook denied it.
    Denied,
    /// Caller ID could not route it: the caller was asked for an access code.
    CodeAsked,
    /// The access code typed routed it, and it was connected.
    CodeConnected,
    /// A wrong access code: the caller was asked again.
    CodeRetried,
    /// A wrong access code and no tries left: the call ended.
    CodeRefused,
    /// The caller is locked out of codes on this number: the call ended.
    CodeLocked,
    /// The callee is in their quiet hours: the call was not connected.
    QuietHours,
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
            Self::HookConnected => "hook_connected",
            Self::HookSaid => "hook_said",
            Self::HookRejected => "hook_rejected",
            Self::Denied => "denied",
            Self::CodeAsked => "code_asked",
            Self::CodeConnected => "code_connected",
            Self::CodeRetried => "code_retried",
            Self::CodeRefused => "code_refused",
            Self::CodeLocked => "code_locked",
            Self::QuietHours => "quiet_hours",
        }
    }
}

/// What the decisions go by besides the call and the store.
pub struct Rules<'a> {
    /// Access codes (`ACCESS_CODES`): `None` when off, and then caller ID alone routes calls.
    pub codes: Option<&'a AccessCodeConfig>,
    pub hooks: &'a Hooks,
    /// TTL bounds, retention and cool-off, for the out-of-session hook's `reopen`.
    pub conversations: &'a ConversationConfig,
    /// Whether a code webhook without our sealed attempt counts (local `any` mode only).
    pub plain_parameters: bool,
    /// What follows a call not put through (the callee's quiet hours), as a missed call.
    pub missed: &'a MissedCallConfig,
}

type Decided = (Plan, Outcome);

fn out_of_service(language: Option<&Language>, outcome: Outcome) -> Decided {
    (Plan::say(Said::OutOfService, language), outcome)
}

/// The answer webhook's decision for `call`.
pub async fn decide<S: AnswerStore>(
    store: &S,
    rules: &Rules<'_>,
    call: &InboundCall<'_>,
) -> Decided {
    let Some(proxy) = &call.proxy else {
        tracing::info!(outcome = "unknown_caller", "no usable to on the call");
        return out_of_service(None, Outcome::UnknownCaller);
    };
    let Some(caller) = &call.caller else {
        // A withheld number: only a code can route it.
        if rules.codes.is_some() {
            return ask_code(None, 1);
        }
        tracing::info!(outcome = "unknown_caller", "no usable from on the call");
        return out_of_service(None, Outcome::UnknownCaller);
    };
    let route = match store.route(proxy, caller).await {
        Ok(route) => route,
        Err(e) => {
            tracing::error!(outcome = "store_failed", error = %error_chain(&e), "route lookup failed");
            return (Plan::say(Said::Unavailable, None), Outcome::StoreFailed);
        }
    };
    // Caller ID that routes to no conversation, or to more than one (a participant sharing
    // this number), is asked for the code; the out-of-session path follows when none is typed.
    if rules.codes.is_some() {
        match &route {
            Some(r) if r.ambiguous => return ask_code(r.language.as_ref(), 1),
            None => return ask_code(None, 1),
            Some(_) => {}
        }
    }
    // A caller whose conversation here has ended is still told in their language.
    let (expired, language) = match route {
        Some(route) if call.now < route.expires_at => {
            if !route.mode.voice() {
                tracing::info!(outcome = "voice_off", conversation_id = %route.conversation_id, "conversation relays texts only");
                return out_of_service(route.language.as_ref(), Outcome::VoiceOff);
            }
            return known(store, rules, route, call, RoutedBy::CallerId).await;
        }
        Some(route) => {
            tracing::info!(outcome = "expired", conversation_id = %route.conversation_id, "conversation has expired");
            (Some(route.conversation_id), route.language)
        }
        None => {
            tracing::info!(
                outcome = "unknown_caller",
                "no route for this caller and number"
            );
            (None, None)
        }
    };
    out_of_session(
        store,
        rules,
        proxy,
        caller,
        expired,
        language.as_ref(),
        call,
    )
    .await
}

/// A call no open conversation takes: put to the out-of-session hook when there is one, else
/// told the number is not in service (in `language`, the caller's where a route of theirs
/// knows it). `expired`: the conversation whose route it matched, past its expiry.
async fn out_of_session<S: AnswerStore>(
    store: &S,
    rules: &Rules<'_>,
    proxy: &Msisdn,
    caller: &Msisdn,
    expired: Option<ConversationId>,
    language: Option<&Language>,
    call: &InboundCall<'_>,
) -> Decided {
    let unplanned = if expired.is_some() {
        Outcome::Expired
    } else {
        Outcome::UnknownCaller
    };
    let Some(hook) = &rules.hooks.out_of_session else {
        return out_of_service(language, unplanned);
    };
    let unplanned_call = Unplanned {
        channel: Channel::Voice,
        proxy,
        caller,
        key: call.key,
        text: None,
        expired: expired.as_ref(),
    };
    let budget = hooks::budget_until(call.deadline, ACTING_RESERVE);
    let decided = hooks::call(
        store,
        hook,
        rules.conversations,
        &unplanned_call,
        call.now,
        budget,
    )
    .await;
    match decided {
        CallOutcome::Connect(route) if route.callee_quiet_at(call.now) => {
            quiet(store, rules, *route, call).await
        }
        CallOutcome::Connect(route) => (
            Plan::Connect {
                route: *route,
                routed_by: RoutedBy::CallerId,
            },
            Outcome::HookConnected,
        ),
        CallOutcome::Say(text) => (Plan::say(Said::Hook(text), None), Outcome::HookSaid),
        CallOutcome::Reject => (Plan::Reject, Outcome::HookRejected),
        CallOutcome::Default(_) => out_of_service(language, unplanned),
    }
}

/// A call its route takes: put to the intercept hook first when its conversation asks for it,
/// then connected.
async fn known<S: AnswerStore>(
    store: &S,
    rules: &Rules<'_>,
    route: Route,
    call: &InboundCall<'_>,
    routed_by: RoutedBy,
) -> Decided {
    if route.intercept
        && let Some(hook) = &rules.hooks.intercept
    {
        let budget = hooks::budget_until(call.deadline, ACTING_RESERVE);
        let verdict = hooks::intercept(
            store,
            hook,
            Channel::Voice,
            &route,
            call.key,
            call.now,
            budget,
        )
        .await;
        if let Verdict::Deny(text) = verdict {
            tracing::info!(outcome = "denied", conversation_id = %route.conversation_id, "intercept hook denied the call");
            let said = match text {
                Some(text) => Plan::say(Said::Hook(text), None),
                None => Plan::say(Said::OutOfService, route.language.as_ref()),
            };
            return (said, Outcome::Denied);
        }
    }
    if route.callee_quiet_at(call.now) {
        return quiet(store, rules, route, call).await;
    }
    let outcome = match routed_by {
        RoutedBy::CallerId => Outcome::Connected,
        RoutedBy::Code => Outcome::CodeConnected,
    };
    (Plan::Connect { route, routed_by }, outcome)
}

/// A call that would ring its callee inside their quiet hours: not connected, and followed up
/// as a call the callee did not take (`domain::calls`): the notice for the callee's SMS is
/// written here where the conversation asks for one; what the caller hears is rendered from
/// the plan. A store that cannot take the notice leaves the caller told all the same.
async fn quiet<S: AnswerStore>(
    store: &S,
    rules: &Rules<'_>,
    route: Route,
    call: &InboundCall<'_>,
) -> Decided {
    let untaken = untaken(&route, call);
    let texted = calls::claim_notice(store, rules.missed, &untaken, call.now)
        .await
        .inspect_err(|e| {
            tracing::error!(error = %error_chain(e), "the missed call's notice was not written");
        })
        .unwrap_or(false);
    tracing::info!(outcome = "quiet_hours", conversation_id = %route.conversation_id, texted, "the callee is in their quiet hours: not connected");
    (Plan::Quiet { route }, Outcome::QuietHours)
}

/// A call on `route` its callee's quiet hours kept from them, as a missed call.
pub fn untaken<'a>(route: &'a Route, call: &'a InboundCall<'_>) -> Untaken<'a> {
    Untaken {
        conversation_id: &route.conversation_id,
        caller_index: route.caller_index,
        call_id: call.key,
        reason: CallStatus::quiet_hours(),
        mode: route.missed_call,
        record: route.record,
    }
}

/// The prompt for an access code (try `attempt`), in the caller's language when it is known.
fn ask_code(language: Option<&Language>, attempt: u8) -> Decided {
    tracing::info!(outcome = "code_asked", attempt, "asking for an access code");
    let outcome = if attempt > 1 {
        Outcome::CodeRetried
    } else {
        Outcome::CodeAsked
    };
    (
        Plan::AskCode {
            attempt,
            language: language.cloned(),
        },
        outcome,
    )
}

/// The keys a caller typed at the code prompt (its attempt sealed in our URL): each code typed
/// is spent before it is looked up, against the caller on this number (a withheld caller:
/// against their own call alone) and against the number's budget for the day; the right code
/// connects them to the other participant of its conversation and is given back; a wrong one
/// is asked again while tries remain. A caller locked out (too many wrong codes on this number
/// lately), or a number whose budget is spent, is told so. No key at all takes the
/// out-of-session path, as a call without codes would. Codes are never logged.
pub async fn typed_code<S: AnswerStore>(
    store: &S,
    rules: &Rules<'_>,
    call: &InboundCall<'_>,
) -> Decided {
    let Some(codes) = rules.codes else {
        tracing::info!(
            outcome = "unknown_caller",
            "a code typed while codes are off"
        );
        return out_of_service(None, Outcome::UnknownCaller);
    };
    let Some(proxy) = &call.proxy else {
        return out_of_service(None, Outcome::UnknownCaller);
    };
    // Our own prompt's URL says which try this is; a request without it is not ours.
    let Some(attempt) = code_attempt(call, rules.plain_parameters) else {
        tracing::warn!("a code webhook without its sealed attempt");
        return out_of_service(None, Outcome::UnknownCaller);
    };
    let typed = call.pressed.as_deref().unwrap_or_default();
    if typed.is_empty() {
        tracing::info!("no code typed");
        return match &call.caller {
            Some(caller) => out_of_session(store, rules, proxy, caller, None, None, call).await,
            None => out_of_service(None, Outcome::UnknownCaller),
        };
    }
    // Wrong codes are counted per caller; a withheld caller's against their own call only.
    let withheld = format!("withheld#{}", call.key);
    let guess = CodeGuess {
        proxy,
        caller: call
            .caller
            .as_ref()
            .map_or(withheld.as_str(), Msisdn::as_str),
        now: call.now,
        lock_seconds: codes.lockout_seconds,
        max_failures: codes.max_failures,
        daily_budget: codes.daily_budget,
    };
    let locked = (Plan::say(Said::CodeLocked, None), Outcome::CodeLocked);
    let unavailable = (Plan::say(Said::Unavailable, None), Outcome::StoreFailed);
    let failures = match store.spend_code_guess(&guess).await {
        Ok(GuessSpent::Allowed { failures, cost }) => {
            let found = match AccessCode::typed(typed, codes.digits) {
                Some(code) => store.code_route(proxy, &code).await,
                None => Ok(None),
            };
            match found {
                Ok(Some(route)) if call.now < route.expires_at && route.mode.voice() => {
                    if let Err(e) = store.refund_code_guess(&guess, cost).await {
                        tracing::warn!(error = %error_chain(&e), "a right code's guess was not given back");
                    }
                    return known(store, rules, route, call, RoutedBy::Code).await;
                }
                Ok(_) => failures,
                Err(e) => {
                    tracing::error!(outcome = "store_failed", error = %error_chain(&e), "code lookup failed");
                    return unavailable;
                }
            }
        }
        Ok(GuessSpent::CallerLocked(f)) => {
            tracing::warn!(
                outcome = "code_locked",
                failures = f.failures,
                "a caller locked out of codes on this number"
            );
            return locked;
        }
        Ok(GuessSpent::NumberSpent) => {
            tracing::warn!(
                outcome = "code_locked",
                "this number's code guesses for the day are spent"
            );
            telemetry::count("CodeBudgetExhausted", &[]);
            return locked;
        }
        Err(e) => {
            // Not counted: the code is not looked up.
            tracing::error!(outcome = "store_failed", error = %error_chain(&e), "a typed code could not be counted");
            return unavailable;
        }
    };
    telemetry::count("WrongCodes", &[]);
    if failures.locks(codes.max_failures, call.now) {
        tracing::warn!(
            outcome = "code_locked",
            failures = failures.failures,
            "wrong code: locked out of codes on this number"
        );
        locked
    } else if attempt > codes.retries {
        tracing::info!(outcome = "code_refused", "wrong code, no tries left");
        (Plan::say(Said::CodeRefused, None), Outcome::CodeRefused)
    } else {
        ask_code(None, attempt + 1)
    }
}

/// Which try at the code prompt this is, as our own URL says; without it, a first try only
/// where plain parameters count.
pub fn code_attempt(call: &InboundCall<'_>, plain_parameters: bool) -> Option<u8> {
    match &call.carried {
        Some(carried) => Some(carried.attempt.unwrap_or(1).max(1)),
        None if plain_parameters => Some(1),
        None => None,
    }
}
