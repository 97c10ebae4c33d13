//! The call log: each call-status event Vonage sends is matched to the conversation its call
//! went through and kept there once; the first answered call moves the conversation to
//! in-progress, and a sliding conversation's expiry moves along with its calls. A call the
//! callee did not take is followed up as its conversation asks (PRODUCT.md, "Call settings"):
//! the caller hears why, and the callee is to be texted (a notice the notifier sends).

use crate::config::MissedCallConfig;
use crate::config::Texts;
use crate::config::texts::Key;
use crate::domain::Retention;
use crate::model::{
    CallEvent, Conversation, Direction, InitiatedBy, MissedCallMode, MissedCallNotice,
    Notification, spoken,
};
use crate::model::{CallRef, StoreError};
use crate::model::{CallWarning, Participant, SpokenLeg, TimerError};
use crate::ncco::Ncco;
use crate::phone::{Msisdn, mask};
use crate::ports::{CallLog, CallTimers, Conversations, MissedCalls, RouteReader};
use crate::values::{CallStatus, ConversationId, Language};

/// What following a call needs of the store.
pub trait CallStore: CallLog + Conversations + RouteReader + MissedCalls {}
impl<T: CallLog + Conversations + RouteReader + MissedCalls> CallStore for T {}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    /// Kept, and it says the callee did not take the call: the caller hears why (the NCCO
    /// answered for the connect's synchronous event); `texted` says whether a notice for the
    /// callee's SMS was written (not within the caller's quiet interval).
    Missed {
        texted: bool,
    },
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
    /// The base of our own webhook URLs, for a voicemail's recording.
    pub base_url: String,
    /// The conversation and caller an access code routed the call to, named in the connect's
    /// event URL (caller ID cannot say for such a call).
    pub routed: Option<CallRef>,
    /// What our own URLs (a voicemail's recording) are sealed with.
    pub seal: crate::seal::Seal,
}

/// What one event came to: its outcome and, for a call the callee did not take, the NCCO the
/// caller hears next.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub outcome: Outcome,
    pub caller_hears: Option<Ncco>,
}

impl From<Outcome> for Recorded {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            caller_hears: None,
        }
    }
}

/// Why an event could not be handled: the store, or the timer of a call's warning.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Timer(#[from] TimerError),
}

/// Keeps an event on its conversation, notes the activity there, and follows up a call its
/// callee did not take.
pub async fn record<S: CallStore>(
    store: &S,
    retention: Retention,
    missed: &MissedCallConfig,
    incoming: &Incoming,
    now: i64,
) -> Result<Recorded, StoreError> {
    let Some((conversation, event)) = keep(store, retention, incoming, now).await? else {
        return Ok(Outcome::UnknownCall.into());
    };
    follow_up(store, missed, &conversation, &event, incoming, now).await
}

/// [`record`], and the call's warning before its limit timed (`timers`, where warnings are
/// scheduled): set when the callee answers, cancelled when a leg ends.
pub async fn record_and_time<S: CallStore, T: CallTimers>(
    store: &S,
    timers: Option<&T>,
    retention: Retention,
    missed: &MissedCallConfig,
    incoming: &Incoming,
    now: i64,
) -> Result<Recorded, CallError> {
    let Some((conversation, event)) = keep(store, retention, incoming, now).await? else {
        return Ok(Outcome::UnknownCall.into());
    };
    // Side by side: a missed call's follow-up, which Vonage may be waiting on, does not wait
    // for Scheduler.
    let (timed, followed) = tokio::join!(
        async {
            match timers {
                Some(timers) => {
                    time_warning(store, timers, &missed.texts, &conversation, &event, now).await
                }
                None => Ok(()),
            }
        },
        follow_up(store, missed, &conversation, &event, incoming, now)
    );
    timed?;
    Ok(followed?)
}

/// Sets or cancels the warning of a call of `c` (one whose conversation has `limit_seconds`
/// and `warn_before_seconds`) as `event` says. The callee's leg answered sets it, for the
/// limit less the warning after that answer, to be spoken into both legs in each party's
/// language; any leg's end (completed, or a call not taken, a machine's answer included)
/// cancels it. A cancel that fails is logged: the warning then finds the call gone, and its
/// schedule deletes itself.
async fn time_warning<S: CallLog, T: CallTimers>(
    store: &S,
    timers: &T,
    texts: &Texts,
    c: &Conversation,
    event: &CallEvent,
    now: i64,
) -> Result<(), CallError> {
    let (Some(limit), Some(warn)) = (c.call.limit_seconds, c.call.warn_before_seconds) else {
        return Ok(());
    };
    // A machine that answered is hung up on: the call was not taken, whatever comes after.
    if event.status.rank() == 4 || event.status.is_missed() {
        if let Err(e) = timers.cancel_warning(&event.call_id).await {
            tracing::warn!(call_id = %event.call_id, error = %crate::error::error_chain(&e), "a call's warning not cancelled");
        }
        return Ok(());
    }
    if event.direction != Some(Direction::Outbound) || !event.status.is_answered() {
        return Ok(());
    }
    let at = event.at_ms.div_euclid(1000) + i64::from(limit) - i64::from(warn);
    if at <= now {
        return Ok(());
    }
    let caller_index = usize::from(event.caller_index.min(1));
    let (caller, callee) = (
        &c.participants[caller_index],
        &c.participants[1 - caller_index],
    );
    let logged = store.call_events(&c.id).await?;
    // An answer delivered again after the call ended (or after a machine's): no warning.
    if logged
        .iter()
        .any(|e| e.call_id == event.call_id && (e.status.rank() == 4 || e.status.is_missed()))
    {
        return Ok(());
    }
    let caller_leg = caller_leg(&logged, &event.call_id).map(str::to_owned);
    let spoken = |leg: String, p: &Participant| {
        let language = p.language.as_ref();
        let text = texts
            .localized_or(
                Key::CallLimitWarning,
                language,
                texts.default_text(Key::CallLimitWarning),
            )
            .replace("{seconds}", &warn.to_string());
        SpokenLeg {
            leg,
            text,
            language: language.cloned(),
        }
    };
    let mut legs = Vec::with_capacity(2);
    if let Some(leg) = caller_leg {
        legs.push(spoken(leg, caller));
    }
    legs.push(spoken(event.leg.clone(), callee));
    timers
        .set_warning(&CallWarning {
            conversation_id: c.id.clone(),
            call_id: event.call_id.clone(),
            at,
            legs,
        })
        .await?;
    tracing::info!(conversation_id = %c.id, call_id = %event.call_id, at, "call's warning set");
    Ok(())
}

/// The caller's leg of call `call_id` among a conversation's logged events (a started call's
/// leg to participant `from_index` is logged as the caller's too).
pub fn caller_leg<'a>(logged: &'a [CallEvent], call_id: &str) -> Option<&'a str> {
    logged
        .iter()
        .find(|e| e.call_id == call_id && e.direction == Some(Direction::Inbound))
        .map(|e| e.leg.as_str())
}

/// Keeps an event on the conversation its call went through and notes the activity there: the
/// conversation and the event as kept; `None` for a call no conversation knows.
async fn keep<S: CallStore>(
    store: &S,
    retention: Retention,
    incoming: &Incoming,
    now: i64,
) -> Result<Option<(Conversation, CallEvent)>, StoreError> {
    let event = &incoming.event;
    let Some(call) = find_call(store, retention, incoming).await? else {
        tracing::info!(
            call_id = %event.call_id,
            status = %event.status,
            to = %mask(&incoming.to),
            from = %mask(&incoming.from),
            "event for a call no conversation knows"
        );
        return Ok(None);
    };
    let Some(conversation) = store.conversation(&call.conversation_id).await? else {
        tracing::info!(call_id = %event.call_id, "event for a conversation that is gone");
        return Ok(None);
    };
    let mut event = event.clone();
    event.caller_index = call.caller_index;
    // Vonage rang the caller of a call the API started: their leg is the caller's all the same
    // (the call log's, number health's and a missed call's "callee" is the other one).
    if event.initiated_by == InitiatedBy::Api
        && event.direction == Some(Direction::Outbound)
        && conversation
            .participants
            .get(usize::from(call.caller_index.min(1)))
            .is_some_and(|p| p.number.as_str() == incoming.to)
    {
        event.direction = Some(Direction::Inbound);
    }
    // The callee's phone shows their own proxy number: number health counts the call there.
    if event.direction == Some(Direction::Outbound) {
        event.shown_number = conversation
            .participants
            .get(1 - usize::from(call.caller_index.min(1)))
            .map(|p| p.proxy_number.clone());
    }
    let keep_until = retention.until(conversation.expires_at, now);
    // Caller ID cannot place the caller's own leg of a call an access code routed: remembered
    // from the callee's leg while the call is under way, its later events (its end, its price)
    // join the call log.
    if incoming.routed.is_some() && event.status.rank() < 4 {
        store
            .remember_call(&event.call_id, &call, keep_until)
            .await?;
    }
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
    Ok(Some((conversation, event)))
}

/// A call the callee did not take (their leg busy, unanswered, rejected, failed, timed out or
/// answered by a machine) in an open conversation that follows missed calls up: the caller is
/// told, in their language (and, with `voicemail`, asked to leave a message, which is
/// recorded), and a notice for the callee's SMS is written unless this caller's last one is
/// still in its quiet interval. Anything else is just recorded.
async fn follow_up<S: CallStore>(
    store: &S,
    missed: &MissedCallConfig,
    c: &Conversation,
    event: &CallEvent,
    incoming: &Incoming,
    now: i64,
) -> Result<Recorded, StoreError> {
    if event.direction != Some(Direction::Outbound)
        || !event.status.is_missed_by_callee()
        || !c.call.missed_call.follows_up()
        || !c.is_open_at(now)
    {
        return Ok(Outcome::Recorded.into());
    }
    let caller_index = event.caller_index.min(1);
    let untaken = Untaken {
        conversation_id: &c.id,
        caller_index,
        call_id: &event.call_id,
        reason: event.status.clone(),
        mode: c.call.missed_call,
        record: c.call.record,
    };
    let texted = claim_notice(store, missed, &untaken, now).await?;
    let (caller, callee) = (
        &c.participants[usize::from(caller_index)],
        &c.participants[1 - usize::from(caller_index)],
    );
    let base = missed
        .public_base_url
        .as_deref()
        .unwrap_or(&incoming.base_url);
    let caller_hears = caller_hears(
        missed,
        &untaken,
        caller.language.as_ref(),
        &|text: &str| spoken(text, c, caller, callee),
        None,
        || voicemail_url(&incoming.seal, base, &event.call_id, &c.id),
    );
    Ok(Recorded {
        outcome: Outcome::Missed { texted },
        caller_hears: Some(caller_hears),
    })
}

/// A call its callee did not take, or that was not put through to them (their quiet hours),
/// as following it up needs it: the event webhook's and the answer webhook's alike.
#[derive(Debug, Clone)]
pub struct Untaken<'a> {
    pub conversation_id: &'a ConversationId,
    /// Who called: the callee is the other participant.
    pub caller_index: u8,
    /// Vonage's id of the call (`conversation_uuid`).
    pub call_id: &'a str,
    /// The callee's leg's last status, or `quiet_hours`.
    pub reason: CallStatus,
    /// The conversation's missed-call setting.
    pub mode: MissedCallMode,
    /// The conversation records its calls (which a voicemail needs).
    pub record: bool,
}

/// The notice for the callee's SMS, written (conditionally) where the conversation follows
/// missed calls up, at most once per caller in the quiet interval; whether it was written.
pub async fn claim_notice<S: MissedCalls>(
    store: &S,
    missed: &MissedCallConfig,
    untaken: &Untaken<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let reason = untaken.reason.as_str();
    crate::telemetry::count("MissedCalls", &[("Reason", reason)]);
    if !untaken.mode.follows_up() {
        tracing::info!(conversation_id = %untaken.conversation_id, call_id = %untaken.call_id, reason, "missed call: no follow-up asked");
        return Ok(false);
    }
    let notice = MissedCallNotice {
        conversation_id: untaken.conversation_id.clone(),
        caller_index: untaken.caller_index.min(1),
        call_id: untaken.call_id.to_owned(),
        reason: untaken.reason.clone(),
        at: now,
        notification: Notification::pending(),
    };
    let texted = store
        .claim_missed_call(&notice, now + missed.quiet_seconds)
        .await?;
    tracing::info!(conversation_id = %untaken.conversation_id, call_id = %untaken.call_id, reason, texted, "missed call followed up");
    Ok(texted)
}

/// What the caller of a call the callee did not take hears next, in their `language`: with
/// `voicemail` (in a conversation that records), the voicemail prompt and the recording of
/// their message (posted to `recording_url()`); else the missed-call text. `lead`, already
/// filled, is said first (the quiet hours' text), and stands for the missed-call text.
/// `fill` fills a text's placeholders for this call.
pub fn caller_hears(
    missed: &MissedCallConfig,
    untaken: &Untaken<'_>,
    language: Option<&Language>,
    fill: &dyn Fn(&str) -> String,
    lead: Option<&str>,
    recording_url: impl FnOnce() -> String,
) -> Ncco {
    // A voicemail only where the conversation allows recording (creation refuses it otherwise).
    if untaken.mode == MissedCallMode::Voicemail && untaken.record {
        let prompt = fill(
            missed
                .texts
                .localized_or(Key::Voicemail, language, &missed.voicemail),
        );
        let ncco = Ncco::voicemail(&prompt, language, recording_url());
        return match lead {
            Some(lead) => ncco.after(lead, language),
            None => ncco,
        };
    }
    match lead {
        Some(lead) => Ncco::speak(lead, language),
        None => Ncco::speak(
            &fill(
                missed
                    .texts
                    .localized_or(Key::MissedCall, language, &missed.spoken),
            ),
            language,
        ),
    }
}

/// Where Vonage posts a voicemail left on call `call_id` of `conversation`: our recordings
/// webhook, what it needs sealed for the call.
pub fn voicemail_url(
    seal: &crate::seal::Seal,
    base: &str,
    call_id: &str,
    conversation: &ConversationId,
) -> String {
    seal.url(
        &format!("{base}/webhooks/recording"),
        call_id,
        &crate::seal::Carried {
            conversation_id: Some(conversation.to_string()),
            kind: Some("voicemail".into()),
            ..Default::default()
        },
    )
}

/// The conversation a call belongs to: remembered from its earlier events, or found through
/// the route it took. The caller's leg runs (proxy, caller); the callee's leg runs
/// (callee's proxy → callee), which is the callee's own route, read backwards.
async fn find_call<S: CallStore>(
    store: &S,
    retention: Retention,
    incoming: &Incoming,
) -> Result<Option<CallRef>, StoreError> {
    let call_id = &incoming.event.call_id;
    if let Some(routed) = &incoming.routed {
        return Ok(Some(routed.clone()));
    }
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
        // An ambiguous route cannot say which conversation: the code-routed leg names it.
        if let Some(route) = store.route(proxy, participant).await?
            && !route.ambiguous
        {
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
