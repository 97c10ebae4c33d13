//! The SMS relay: a text from a participant's real number to their proxy number is sent on to
//! the other participant from the other's proxy number, through the same route a call takes.
//! Nothing is relayed for an unknown sender, a closed or expired conversation or one without
//! texts; opt-out keywords are honoured; a message Vonage delivers twice is relayed once; a
//! concatenated message is relayed once, whole. With access codes, a text on a number its sender
//! shares goes to the conversation whose code it starts with. Message text is never logged.

use crate::config::SmsConfig;
use crate::config::texts::Key;
use crate::domain::delivery::note_sent;
use crate::domain::hooks::{self, TextOutcome, Unplanned, Verdict};
use crate::error::error_chain;
use crate::hook::{HookClient, Hooks};
use crate::model::{Channel, MessagePart, RelayedMessage, StoreError};
use crate::model::{Route, TextKind, TextOwner};
use crate::phone::Msisdn;
use crate::ports::{
    AccessCodes, Conversations, HookLog, Leases, RouteReader, SmsLedger, SmsSender, TextLedger,
};
use crate::values::AccessCode;
use crate::values::Language;
use crate::values::MessageStatus;
use crate::vonage::VonageError;

/// What relaying a text needs of the store.
pub trait RelayStore:
    RouteReader + SmsLedger + TextLedger + Leases + HookLog + Conversations
{
}
impl<T: RouteReader + SmsLedger + TextLedger + Leases + HookLog + Conversations> RelayStore for T {}

/// What relaying needs: the route reader and SMS ledger, the sender, and the SMS settings.
pub struct Relay<'a, S, V> {
    pub store: &'a S,
    pub vonage: &'a V,
    pub sms: &'a SmsConfig,
    pub hooks: &'a Hooks,
}

/// Keywords that stop texts to the sender, and that start them again (matched on the whole
/// message, case and surrounding space ignored).
pub const OPT_OUT: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
pub const OPT_IN: [&str; 3] = ["START", "UNSTOP", "YES"];

/// What became of one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Relayed,
    /// Seen before (Vonage retried): acknowledged, not sent again.
    Duplicate,
    /// A part of a concatenated message; the rest has not arrived.
    PartKept,
    /// No open conversation with texts for this sender and number.
    Unknown {
        replied: bool,
    },
    OptedOut {
        confirmed: bool,
    },
    OptedIn {
        confirmed: bool,
    },
    /// The other participant opted out: nothing sent.
    RecipientOptedOut,
    /// The other participant's number is a landline: nothing sent.
    RecipientTakesNoTexts,
    /// A binary message (ringtones, configuration): acknowledged, not relayed.
    Binary,
    /// The intercept hook denied it: not relayed.
    Denied,
    /// The out-of-session hook had the sender answered instead.
    HookReplied,
    /// The out-of-session hook had it ignored.
    HookIgnored,
    /// From a participant on a number they share, without the code of one of their
    /// conversations in front: they were told how to address it.
    Unaddressed,
}

/// An inbound message as read from the request.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub sender: Msisdn,
    pub proxy: Msisdn,
    pub message_id: String,
    pub text: String,
    /// (reference, part, total) of a concatenated message.
    pub concat: Option<(String, u32, u32)>,
    /// `type` is `binary`: there is no text to relay.
    pub binary: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", error_chain(.0))]
    Vonage(VonageError),
}

fn keyword(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// Handles one inbound message at `now`.
pub async fn relay<S, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    let store = &deps.store;
    if !store.claim_message(&m.message_id, now).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = relay_claimed(deps, m, now).await;
    if outcome.is_err()
        && let Err(e) = store.release_message(&m.message_id).await
    {
        tracing::error!(error = %error_chain(&e), "message claim not released; a retry will be taken for a duplicate");
    }
    outcome
}

async fn relay_claimed<S, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    if m.binary {
        return Ok(Outcome::Binary);
    }
    let store = &deps.store;
    let found = store.route(&m.proxy, &m.sender).await?;
    let route = found
        .as_ref()
        .filter(|r| now < r.expires_at && r.mode.sms());

    // Replies go out in the sender's language, where a route of theirs here knows it.
    let language = found.as_ref().and_then(|r| r.language.as_ref());
    let texts = &deps.sms.texts;
    // Opt-out and opt-in keywords are never relayed; they hold for this sender and number.
    let word = keyword(&m.text);
    if m.concat.is_none() && OPT_OUT.contains(&word.as_str()) {
        let first_time = store.opt_out(&m.sender, &m.proxy, now).await?;
        if first_time {
            let reply = texts.localized_or(Key::SmsOptOut, language, &deps.sms.opt_out_reply);
            send(deps, &m.proxy, &m.sender, reply, None).await?;
        }
        return Ok(Outcome::OptedOut {
            confirmed: first_time,
        });
    }
    if m.concat.is_none() && OPT_IN.contains(&word.as_str()) {
        let was_out = store.opt_in(&m.sender, &m.proxy).await?;
        if was_out {
            let reply = texts.localized_or(Key::SmsOptIn, language, &deps.sms.opt_in_reply);
            send(deps, &m.proxy, &m.sender, reply, None).await?;
        }
        return Ok(Outcome::OptedIn { confirmed: was_out });
    }

    // A sender holding this number in several conversations says which with its code.
    if let Some(codes) = &deps.sms.codes {
        if found.as_ref().is_some_and(|r| r.ambiguous) {
            return addressed(deps, codes, m, language, now).await;
        }
        // A shared route goes when any conversation sharing it closes: the others' texts are
        // still addressed by code.
        if found.is_none()
            && m.concat.is_none()
            && let Some((route, rest)) = by_code(deps, codes, m, &m.text, now).await?
        {
            return intercepted(deps, m, &route, rest, 1, now).await;
        }
    }

    let Some(route) = route else {
        // No open conversation for this sender here (a voice-only one is not the hook's).
        let open_elsewhere = found.as_ref().is_some_and(|r| now < r.expires_at);
        if let Some(hook) = &deps.hooks.out_of_session
            && !open_elsewhere
        {
            return out_of_session(deps, hook, m, found.as_ref(), now).await;
        }
        return unknown_sender(deps, m, language, now).await;
    };

    let Some((text, parts)) = whole_text(deps, m, now).await? else {
        return Ok(Outcome::PartKept);
    };
    let result = intercepted(deps, m, route, &text, parts, now).await;
    released_on_failure(deps, m, result).await
}

/// A text from a participant on a number they share in several open conversations: relayed,
/// without the code, to the other participant of the conversation whose code it starts with
/// ("4821 I'm at the gate"); otherwise the sender is told how to address it. A code only
/// addresses the sender's own conversations, so texts cannot be used to guess codes.
async fn addressed<S, V>(
    deps: &Relay<'_, S, V>,
    codes: &crate::config::AccessCodeConfig,
    m: &Inbound,
    language: Option<&Language>,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    let Some((text, parts)) = whole_text(deps, m, now).await? else {
        return Ok(Outcome::PartKept);
    };
    let result = match by_code(deps, codes, m, &text, now).await {
        Err(e) => Err(e),
        Ok(Some((route, rest))) => intercepted(deps, m, &route, rest, parts, now).await,
        Ok(None) => {
            let reply = deps
                .sms
                .texts
                .localized_or(Key::AccessCodeSms, language, &codes.sms_reply)
                .replace("{digits}", &codes.digits.to_string())
                .replace("{example}", &"12345678"[..usize::from(codes.digits)]);
            reply_unless_opted_out(deps, m, &reply)
                .await
                .map(|()| Outcome::Unaddressed)
        }
    };
    released_on_failure(deps, m, result).await
}

/// The sender's own open conversation (with texts) whose code `text` starts with, and the
/// text after the code.
async fn by_code<'t, S: AccessCodes, V>(
    deps: &Relay<'_, S, V>,
    codes: &crate::config::AccessCodeConfig,
    m: &Inbound,
    text: &'t str,
    now: i64,
) -> Result<Option<(Route, &'t str)>, RelayError> {
    let trimmed = text.trim_start();
    let (first, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""));
    let rest = rest.trim_start();
    let Some(code) = AccessCode::typed(first, codes.digits).filter(|_| !rest.is_empty()) else {
        return Ok(None);
    };
    let route = deps
        .store
        .code_route(&m.proxy, &code)
        .await?
        .filter(|r| r.caller == m.sender && now < r.expires_at && r.mode.sms());
    Ok(route.map(|r| (r, rest)))
}

/// Puts a text its route takes to the intercept hook when its conversation asks for it, then
/// relays it.
async fn intercepted<S, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    route: &Route,
    text: &str,
    parts: u32,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore,
    V: SmsSender,
{
    let verdict = match &deps.hooks.intercept {
        Some(hook) if route.intercept => {
            let key = &m.message_id;
            let budget = hook.timeout();
            hooks::intercept(deps.store, hook, Channel::Sms, route, key, now, budget).await
        }
        _ => Verdict::Allow,
    };
    match verdict {
        Verdict::Allow => deliver(deps, m, route, text, parts, now).await,
        Verdict::Deny(None) => Ok(Outcome::Denied),
        Verdict::Deny(Some(reply)) => reply_unless_opted_out(deps, m, &reply)
            .await
            .map(|()| Outcome::Denied),
    }
}

/// A concatenated message whose handling failed is claimed no longer, so that Vonage's retry
/// can complete it.
async fn released_on_failure<S: SmsLedger, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    result: Result<Outcome, RelayError>,
) -> Result<Outcome, RelayError> {
    if result.is_err()
        && let Some((reference, _, _)) = &m.concat
        && let Err(e) = deps.store.release_whole(&m.sender, reference).await
    {
        tracing::error!(error = %error_chain(&e), "whole-message claim not released");
    }
    result
}

/// The whole text of `m` and the parts it came in: at once for a single message, once every
/// part is in (and only for the one delivery that completes it) for a concatenated one.
async fn whole_text<S: SmsLedger, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    now: i64,
) -> Result<Option<(String, u32)>, RelayError> {
    let Some((reference, part, total)) = &m.concat else {
        return Ok(Some((m.text.clone(), 1)));
    };
    let store = &deps.store;
    let part = MessagePart {
        part: *part,
        total: *total,
        text: m.text.clone(),
    };
    let have = store.put_part(&m.sender, reference, &part, now).await?;
    let complete = (1..=*total).all(|i| have.iter().any(|p| p.part == i));
    if !complete || !store.claim_whole(&m.sender, reference, now).await? {
        return Ok(None);
    }
    let whole: String = (1..=*total)
        .filter_map(|i| have.iter().find(|p| p.part == i))
        .map(|p| p.text.as_str())
        .collect();
    Ok(Some((whole, *total)))
}

/// A text no open conversation takes, put to the out-of-session hook: relayed to the
/// conversation it names, answered, or ignored; anything else gets today's handling of an
/// unknown sender (nothing relayed).
async fn out_of_session<S, V>(
    deps: &Relay<'_, S, V>,
    hook: &HookClient,
    m: &Inbound,
    expired: Option<&Route>,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore,
    V: SmsSender,
{
    let Some((text, parts)) = whole_text(deps, m, now).await? else {
        return Ok(Outcome::PartKept);
    };
    let unplanned = Unplanned {
        channel: Channel::Sms,
        proxy: &m.proxy,
        caller: &m.sender,
        key: &m.message_id,
        text: Some(&text),
        expired: expired.map(|r| &r.conversation_id),
    };
    let result = match hooks::text(deps.store, hook, &unplanned, now).await {
        TextOutcome::Relay(route) => deliver(deps, m, &route, &text, parts, now).await,
        TextOutcome::Reply(reply) => reply_unless_opted_out(deps, m, &reply)
            .await
            .map(|()| Outcome::HookReplied),
        TextOutcome::Ignore => Ok(Outcome::HookIgnored),
        TextOutcome::Default(_) => unknown_sender(deps, m, None, now).await,
    };
    released_on_failure(deps, m, result).await
}

/// Texts the sender back from the number they texted, unless they opted out of it.
async fn reply_unless_opted_out<S: SmsLedger + TextLedger, V: SmsSender>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    text: &str,
) -> Result<(), RelayError> {
    if !deps.store.opted_out(&m.sender, &m.proxy).await? {
        send(deps, &m.proxy, &m.sender, text, None).await?;
    }
    Ok(())
}

async fn deliver<S: SmsLedger + TextLedger, V: SmsSender>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    route: &Route,
    text: &str,
    parts: u32,
    now: i64,
) -> Result<Outcome, RelayError> {
    let store = &deps.store;
    let retain_until = deps.sms.retention.until(route.expires_at, now);
    let mut record = RelayedMessage {
        message_id: m.message_id.clone(),
        from_index: route.caller_index,
        at: now,
        parts,
        status: MessageStatus::Submitted,
        outbound_id: None,
    };
    let outcome = if route.callee_landline {
        record.status = MessageStatus::NotSmsCapable;
        Outcome::RecipientTakesNoTexts
    } else if store.opted_out(&route.callee, &route.callee_proxy).await? {
        record.status = MessageStatus::OptedOut;
        Outcome::RecipientOptedOut
    } else {
        // The recipient sees the text come from the number they use to reach the sender.
        let id = send(
            deps,
            &route.callee_proxy,
            &route.callee,
            text,
            Some(route.conversation_id.as_str()),
        )
        .await?;
        let owner = TextOwner {
            conversation_id: route.conversation_id.clone(),
            reference: route.reference.clone(),
            kind: TextKind::Relayed {
                from_index: route.caller_index,
            },
        };
        note_sent(deps.store, &id, &owner, retain_until).await;
        record.outbound_id = Some(id);
        crate::telemetry::metric(
            "TextsRelayed",
            f64::from(parts),
            crate::telemetry::Unit::Count,
            &[],
        );
        Outcome::Relayed
    };
    if let Err(e) = store
        .record_message(&route.conversation_id, &record, retain_until)
        .await
    {
        // The text went out; losing its record is better than sending it twice.
        tracing::error!(conversation_id = %route.conversation_id, error = %error_chain(&e), "relayed message not recorded");
    }
    Ok(outcome)
}

/// Someone texting a proxy number that has nothing for them: by default nothing happens;
/// with `SMS_UNKNOWN_REPLY` they are told, at most once an hour per sender and number.
async fn unknown_sender<S, V>(
    deps: &Relay<'_, S, V>,
    m: &Inbound,
    language: Option<&Language>,
    now: i64,
) -> Result<Outcome, RelayError>
where
    S: RelayStore,
    V: SmsSender,
{
    let Some(reply) = &deps.sms.unknown_reply else {
        return Ok(Outcome::Unknown { replied: false });
    };
    let lease = format!("autoreply-{}-{}", m.sender.as_str(), m.proxy.as_str());
    if !deps
        .store
        .acquire_lease(&lease, &m.message_id, now, 3600)
        .await?
    {
        return Ok(Outcome::Unknown { replied: false });
    }
    let reply = deps
        .sms
        .texts
        .localized_or(Key::SmsUnknownReply, language, reply);
    send(deps, &m.proxy, &m.sender, reply, None).await?;
    Ok(Outcome::Unknown { replied: true })
}

async fn send<S, V: SmsSender>(
    deps: &Relay<'_, S, V>,
    from: &Msisdn,
    to: &Msisdn,
    text: &str,
    client_ref: Option<&str>,
) -> Result<String, RelayError> {
    deps.vonage
        .send_sms(from, to, text, client_ref)
        .await
        .map_err(RelayError::Vonage)
}
