//! The texts participants are sent: their proxy number when a conversation starts ([`deliver`],
//! after the conversation is written), a call they did not take ([`missed_call`]), and, if
//! configured, that it has ended. One template function fills every placeholder.

use crate::config::texts::Key;
use crate::config::{NotifyConfig, Texts};
use crate::domain::Retention;
use crate::domain::delivery::note_sent;
use crate::error::error_chain;
use crate::model::StoreError;
use crate::model::{
    Conversation, ConversationStatus, MissedCallNotice, Notification, NotificationStatus,
    Participant, TextKind, TextOwner,
};
use crate::ports::{Conversations, MissedCalls, Notifications, SmsLedger, SmsSender, TextLedger};
use crate::values::ConversationId;

/// What texting participants needs of the store.
pub trait NotifyStore:
    Conversations + Notifications + MissedCalls + SmsLedger + TextLedger
{
}
impl<T: Conversations + Notifications + MissedCalls + SmsLedger + TextLedger> NotifyStore for T {}

/// Why a text was not sent to a participant whose number is a landline.
pub const NOT_SMS_CAPABLE: &str = "not_sms_capable";
/// Why a text was not sent: its conversation closed first.
pub const CONVERSATION_CLOSED: &str = "conversation_closed";
/// Why a text was not sent: the recipient opted out of texts on that number.
pub const OPTED_OUT: &str = "opted_out";
/// Why a text was not sent: Vonage refused it for good (a barred number, say).
pub const REJECTED: &str = "rejected";
/// Why a text was not sent: Vonage could not take it within the time it is retried for.
pub const VONAGE_ERROR: &str = "vonage_error";

/// `template` for participant `me` of `c`: `{other}` (and, in the missed-call text, `{caller}`)
/// is the other participant's label (or a neutral word), `{proxy}` the proxy number `me`
/// reaches them on, `{reference}` the conversation's reference, `{expires}` when the
/// conversation expires (RFC 3339).
pub fn text(template: &str, c: &Conversation, me: &Participant, other: &Participant) -> String {
    template
        .replace("{other}", other.display_name())
        .replace("{caller}", other.display_name())
        .replace(
            "{reference}",
            c.reference
                .as_ref()
                .map_or("your conversation", crate::values::Reference::as_str),
        )
        .replace("{proxy}", &format!("+{}", me.proxy_number.as_str()))
        .replace("{expires}", &crate::rfc3339(c.expires_at))
}

/// A participant's proxy-number text with their access code in it: where the template has
/// `{code}`, else as a sentence after it, `hint` ("If asked for a code, enter {code}.").
pub fn with_code(body: String, me: &Participant, hint: &str) -> String {
    let Some(code) = &me.code else {
        return body;
    };
    if body.contains("{code}") {
        return body.replace("{code}", code.as_str());
    }
    format!("{body} {}", hint.replace("{code}", code.as_str()))
}

/// Text `key` for `me`, in their language where the catalogue has it, else `default` (the
/// default language's, as configured).
pub fn in_language<'a>(texts: &'a Texts, key: Key, default: &'a str, me: &Participant) -> &'a str {
    texts.localized_or(key, me.language.as_ref(), default)
}

/// Sends each participant, from their own proxy number, `template` (in their language where
/// `texts` has text `key` in it) filled for them (a landline is sent nothing). Both SMS go out together; a failure is logged (as `failure`) and reported,
/// never fatal.
pub async fn tell_both<V: SmsSender>(
    sms: &V,
    c: &Conversation,
    (texts, key, template): (&Texts, Key, &str),
    failure: &str,
) -> [bool; 2] {
    let tell = |i: usize| {
        let (me, other) = (&c.participants[i], &c.participants[1 - i]);
        let body = text(in_language(texts, key, template, me), c, me, other);
        async move {
            if !me.takes_texts() {
                return false;
            }
            match sms
                .send_sms(&me.proxy_number, &me.number, &body, Some(c.id.as_str()))
                .await
            {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(conversation_id = %c.id, error = %error_chain(&e), "{failure}");
                    false
                }
            }
        }
    };
    let (sent_a, sent_b) = tokio::join!(tell(0), tell(1));
    [sent_a, sent_b]
}

/// Text `kind` of conversation `c`.
fn owner(c: &Conversation, kind: TextKind) -> TextOwner {
    TextOwner {
        conversation_id: c.id.clone(),
        reference: c.reference.clone(),
        kind,
    }
}

/// How long the records of a conversation's texts are kept after it ends.
fn retention(settings: &NotifyConfig) -> Retention {
    settings.retention
}

/// What one round of [`deliver`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every notification of the conversation is recorded as sent or failed (or it is gone).
    Done,
    /// At least one could not be sent this time and may be next time: retry the change. The
    /// most attempts either participant has had so far.
    Retry { attempts: u32 },
}

impl Delivery {
    fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::Retry { attempts: a }, Self::Retry { attempts: b }) => {
                Self::Retry { attempts: a.max(b) }
            }
            (Self::Retry { attempts }, Self::Done) | (Self::Done, Self::Retry { attempts }) => {
                Self::Retry { attempts }
            }
            (Self::Done, Self::Done) => Self::Done,
        }
    }
}

/// Sends each participant of conversation `id` whose notification is still pending the
/// notification text from their own proxy number, and records the outcome on the
/// conversation: `sent` (with Vonage's id of the text, which is recorded for its statuses);
/// `failed` when Vonage refused for good, when a passing failure (an outage, throttling)
/// outlasts `NOTIFY_RETRY_SECONDS` from the conversation's creation, when the conversation
/// closed first, or when the participant is on a landline (`not_sms_capable`, nothing sent).
/// Pending is read from the stored conversation, so a redelivered change does not text anyone
/// twice once their outcome is recorded.
pub async fn deliver<S: NotifyStore, V: SmsSender>(
    store: &S,
    sms: &V,
    id: &ConversationId,
    settings: &NotifyConfig,
    now: i64,
) -> Result<Delivery, StoreError> {
    let Some(c) = store.conversation(id).await? else {
        return Ok(Delivery::Done);
    };
    let (a, b) = tokio::join!(
        deliver_one(store, sms, &c, 0, settings, now),
        deliver_one(store, sms, &c, 1, settings, now),
    );
    Ok(a?.and(b?))
}

async fn deliver_one<S: NotifyStore, V: SmsSender>(
    store: &S,
    sms: &V,
    c: &Conversation,
    index: usize,
    settings: &NotifyConfig,
    now: i64,
) -> Result<Delivery, StoreError> {
    let give_up = now >= c.created_at + settings.give_up_after_seconds;
    let (me, other) = (&c.participants[index], &c.participants[1 - index]);
    if me.notified() != Some(NotificationStatus::Pending) {
        return Ok(Delivery::Done);
    }
    let attempts = me.notification.as_ref().map_or(0, |n| n.attempts);
    let finished = |status, attempts, reason| Notification {
        status,
        attempts,
        reason,
        message_id: None,
    };
    if c.status == ConversationStatus::Closed {
        let reason = CONVERSATION_CLOSED.to_owned();
        let outcome = finished(NotificationStatus::Failed, attempts, Some(reason));
        store.finish_notification(&c.id, index, &outcome).await?;
        return Ok(Delivery::Done);
    }
    if !me.takes_texts() {
        let outcome = finished(
            NotificationStatus::Failed,
            attempts,
            Some(NOT_SMS_CAPABLE.to_owned()),
        );
        if store.finish_notification(&c.id, index, &outcome).await? {
            crate::telemetry::count("Notifications", &[("Status", "failed")]);
        }
        return Ok(Delivery::Done);
    }
    let t = &settings.texts;
    let body = with_code(
        text(
            in_language(t, Key::NotifySms, &settings.template, me),
            c,
            me,
            other,
        ),
        me,
        t.get(Key::AccessCodeHint, me.language.as_ref()),
    );
    let sent = sms
        .send_sms(&me.proxy_number, &me.number, &body, Some(c.id.as_str()))
        .await;
    let outcome = match sent {
        Ok(message_id) => {
            let kind = TextKind::Notification {
                index: index as u8,
                label: me.label.clone(),
            };
            let until = retention(settings).until(c.expires_at, now);
            note_sent(store, &message_id, &owner(c, kind), until).await;
            Notification {
                message_id: Some(message_id),
                ..finished(NotificationStatus::Sent, attempts, None)
            }
        }
        Err(e) if e.is_transient() => {
            let counted = store.count_notification_attempt(&c.id, index).await?;
            tracing::warn!(conversation_id = %c.id, index, ?counted, error = %error_chain(&e), "notification SMS not sent yet");
            match counted {
                Some(n) if give_up => {
                    finished(NotificationStatus::Failed, n, Some(VONAGE_ERROR.to_owned()))
                }
                Some(n) => return Ok(Delivery::Retry { attempts: n }),
                // Recorded meanwhile by another delivery of the same change.
                None => return Ok(Delivery::Done),
            }
        }
        Err(e) => {
            tracing::warn!(conversation_id = %c.id, index, error = %error_chain(&e), "notification SMS refused");
            finished(
                NotificationStatus::Failed,
                attempts,
                Some(REJECTED.to_owned()),
            )
        }
    };
    if store.finish_notification(&c.id, index, &outcome).await? {
        let status = match outcome.status {
            NotificationStatus::Sent => "sent",
            _ => "failed",
        };
        crate::telemetry::count("Notifications", &[("Status", status)]);
    }
    Ok(Delivery::Done)
}

/// Texts the callee of a missed call, from the number they would call back on (their own proxy
/// number, which reaches the caller), `template` filled for them; the outcome is recorded on the
/// notice once. Pending is read from the stored notice, so a redelivered change texts no one
/// twice. Not sent, and recorded as failed, when the callee has opted out of texts on that
/// number, when the conversation is closed or gone, or when Vonage refuses for good or a passing
/// failure outlasts `give_up_after` seconds from the call.
pub async fn missed_call<S: NotifyStore, V: SmsSender>(
    store: &S,
    sms: &V,
    notice: &MissedCallNotice,
    settings: &NotifyConfig,
    now: i64,
) -> Result<Delivery, StoreError> {
    let stored = store
        .missed_call(&notice.conversation_id, notice.caller_index)
        .await?;
    let Some(notice) = stored.filter(|stored| {
        stored.call_id == notice.call_id
            && stored.notification.status == NotificationStatus::Pending
    }) else {
        return Ok(Delivery::Done);
    };
    let notice = &notice;
    let finish = |status, reason: Option<String>| Notification {
        status,
        attempts: notice.notification.attempts,
        reason,
        message_id: None,
    };
    let c = match store.conversation(&notice.conversation_id).await? {
        Some(c) if c.is_open_at(now) => c,
        _ => {
            let outcome = finish(
                NotificationStatus::Failed,
                Some(CONVERSATION_CLOSED.to_owned()),
            );
            store.finish_missed_call(notice, &outcome).await?;
            return Ok(Delivery::Done);
        }
    };
    let caller = usize::from(notice.caller_index.min(1));
    let (callee, other) = (&c.participants[1 - caller], &c.participants[caller]);
    let outcome = if !callee.takes_texts() {
        finish(NotificationStatus::Failed, Some(NOT_SMS_CAPABLE.to_owned()))
    } else if store
        .opted_out(&callee.number, &callee.proxy_number)
        .await?
    {
        finish(NotificationStatus::Failed, Some(OPTED_OUT.to_owned()))
    } else {
        let template = in_language(
            &settings.texts,
            Key::MissedCallSms,
            &settings.missed_call_template,
            callee,
        );
        let body = text(template, &c, callee, other);
        let sent = sms
            .send_sms(
                &callee.proxy_number,
                &callee.number,
                &body,
                Some(c.id.as_str()),
            )
            .await;
        match sent {
            Ok(message_id) => {
                let kind = TextKind::MissedCall {
                    caller_index: notice.caller_index,
                };
                let until = retention(settings).until(c.expires_at, now);
                note_sent(store, &message_id, &owner(&c, kind), until).await;
                Notification {
                    message_id: Some(message_id),
                    ..finish(NotificationStatus::Sent, None)
                }
            }
            Err(e) if e.is_transient() => {
                let counted = store.count_missed_call_attempt(notice).await?;
                tracing::warn!(conversation_id = %c.id, ?counted, error = %error_chain(&e), "missed-call SMS not sent yet");
                match counted {
                    Some(_) if now >= notice.at + settings.give_up_after_seconds => {
                        finish(NotificationStatus::Failed, Some(VONAGE_ERROR.to_owned()))
                    }
                    Some(n) => return Ok(Delivery::Retry { attempts: n }),
                    None => return Ok(Delivery::Done),
                }
            }
            Err(e) => {
                tracing::warn!(conversation_id = %c.id, error = %error_chain(&e), "missed-call SMS refused");
                finish(NotificationStatus::Failed, Some(REJECTED.to_owned()))
            }
        }
    };
    if store.finish_missed_call(notice, &outcome).await? {
        let status = match outcome.status {
            NotificationStatus::Sent => "sent",
            _ => "failed",
        };
        crate::telemetry::count("MissedCallTexts", &[("Status", status)]);
    }
    Ok(Delivery::Done)
}
