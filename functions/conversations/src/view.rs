//! What the management API shows of a conversation.

use std::collections::HashMap;

use serde::Serialize;
use shared::model::{
    CallRecording, CallSettings, Checked, CloseReason, Conversation, DeliveryState, Direction,
    ExpiryMode, Interaction, LineType, Missed, Mode, NotificationStatus, Participant, QuietHours,
    RecordingKind, RoutedBy, SentText,
};
use shared::model::{InitiatedBy, RelayedMessage};
use shared::rfc3339;
use shared::values::{
    CallStatus, ConversationId, Country, Label, Language, MessageStatus, Reference,
};

#[derive(Debug, Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    pub expiry_mode: ExpiryMode,
    pub mode: Mode,
    /// Calls and texts are put to the intercept hook first.
    pub intercept: bool,
    /// What callers and callees hear.
    pub call: CallSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
    pub participants: Vec<ParticipantView>,
    /// The call log, oldest first (only on `GET /conversations/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<Vec<CallView>>,
    /// Texts relayed, oldest first, without their words (only on `GET /conversations/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageView>>,
}

/// One text relayed through the conversation.
#[derive(Debug, Serialize)]
pub struct MessageView {
    pub from: String,
    pub to: String,
    pub at: String,
    /// SMS parts it arrived in.
    pub parts: u32,
    /// `submitted` (Vonage accepted the onward send), `opted-out` (the recipient had opted
    /// out) or `not_sms_capable` (the recipient is on a landline): nothing was sent but for
    /// `submitted`.
    pub status: MessageStatus,
    /// How far the onward text got: `submitted` until a receipt says `delivered` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryState>,
    /// Why it failed (`rejected`, `undeliverable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_failure: Option<String>,
}

/// One call through the conversation. Participants are named by label (or position), never by
/// number.
#[derive(Debug, Serialize)]
pub struct CallView {
    /// Vonage's `conversation_uuid` of the call.
    pub id: String,
    /// Vonage's `uuid` of the caller's leg.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub from: String,
    pub to: String,
    pub status: CallStatus,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// EUR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Why the callee did not take it, and whether their phone rang first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<Missed>,
    /// `caller_id`, or `code` for a call an access code routed.
    pub routed_by: RoutedBy,
    /// `caller` (they dialled their proxy number), or `api` for a call
    /// `POST /conversations/{id}/calls` started.
    pub initiated_by: InitiatedBy,
    /// Its recordings (a recorded call, or a voicemail the caller left); a link to one from
    /// `GET /conversations/{id}/calls/{call_id}/recording`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recordings: Vec<RecordingView>,
    pub statuses: Vec<StatusView>,
}

#[derive(Debug, Serialize)]
pub struct RecordingView {
    pub recording_id: String,
    pub kind: RecordingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub status: CallStatus,
    pub at: String,
    /// `caller` (the leg into the service) or `callee` (the leg out to the other participant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<&'static str>,
}

fn millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn name(c: &Conversation, index: usize) -> String {
    c.participants
        .get(index)
        .and_then(|p| p.label.as_ref())
        .map_or_else(|| format!("participant {}", index + 1), Label::to_string)
}

impl CallView {
    pub fn new(c: &Conversation, i: &Interaction, recordings: &[CallRecording]) -> Self {
        let caller = usize::from(i.caller_index.min(1));
        Self {
            id: i.call_id.clone(),
            uuid: i.uuid.clone(),
            from: name(c, caller),
            to: name(c, 1 - caller),
            status: i.status.clone(),
            started_at: millis(i.started_at_ms),
            answered_at: i.answered_at_ms.map(millis),
            ended_at: i.ended_at_ms.map(millis),
            duration: i.duration,
            price: i.price.clone(),
            rate: i.rate.clone(),
            missed: i.missed.clone(),
            routed_by: i.routed_by,
            initiated_by: i.initiated_by,
            recordings: recordings
                .iter()
                .filter(|r| r.call_id == i.call_id)
                .map(|r| RecordingView {
                    recording_id: r.recording_id.clone(),
                    kind: r.kind,
                    size: r.size,
                    started_at: r.started_at.clone(),
                    ended_at: r.ended_at.clone(),
                })
                .collect(),
            statuses: i
                .statuses
                .iter()
                .map(|s| StatusView {
                    status: s.status.clone(),
                    at: millis(s.at_ms),
                    leg: s.direction.map(|d| match d {
                        Direction::Inbound => "caller",
                        Direction::Outbound => "callee",
                    }),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// The number this participant calls to reach the other.
    pub proxy_number: String,
    pub country: Country,
    /// The language they hear (British English on conversations from before it was kept).
    pub language: Language,
    /// The SMS that tells this participant their proxy number: `pending` until it is sent
    /// (after creation has answered), then `sent` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified: Option<NotificationStatus>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_failure: Option<String>,
    /// How far the sent notification got: `submitted` until a receipt from the network says
    /// `delivered` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryState>,
    /// Why it failed after it was sent (`rejected`, `undeliverable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_failure: Option<String>,
    /// The access code that routes their calls and texts when caller ID cannot (with
    /// `ACCESS_CODES` on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// They hold this proxy number in another open conversation too: their calls and texts on
    /// it go by code.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// Who checked their number: `vonage`, or `local` (libphonenumber) when Vonage's check
    /// could not answer.
    pub checked: Checked,
    /// Whether texts reach them: `false` for a landline, which gets no texts.
    pub sms: bool,
    /// The kind of line, where the check said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<LineType>,
    /// Their time zone (tz database): the one given at creation, else the check's where it
    /// said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When calls do not ring them, in `time_zone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

impl ConversationView {
    /// The conversation as it stands at `now`: one past its expiry shows as closed (`expired`)
    /// even before the sweep has written it so, because it no longer connects.
    pub fn at(c: &Conversation, now: i64) -> Self {
        let expired_unswept = c.status_at(now) != c.status;
        let (status, closed_at, close_reason) = if expired_unswept {
            ("closed", Some(c.expires_at), Some(CloseReason::Expired))
        } else {
            (c.status.as_str(), c.closed_at, c.close_reason)
        };
        Self {
            id: c.id.clone(),
            status,
            created_at: rfc3339(c.created_at),
            expires_at: rfc3339(c.expires_at),
            reference: c.reference.clone(),
            closed_at: closed_at.map(rfc3339),
            close_reason,
            expiry_mode: c.expiry_mode,
            mode: c.mode,
            intercept: c.intercept,
            call: c.call.clone(),
            last_activity: c.last_activity.map(rfc3339),
            participants: c.participants.iter().map(ParticipantView::from).collect(),
            calls: None,
            messages: None,
        }
    }

    pub fn with_messages(mut self, c: &Conversation, messages: &[RelayedMessage]) -> Self {
        self.messages = Some(
            messages
                .iter()
                .map(|m| {
                    let from = usize::from(m.from_index.min(1));
                    MessageView {
                        from: name(c, from),
                        to: name(c, 1 - from),
                        at: rfc3339(m.at),
                        parts: m.parts,
                        status: m.status,
                        delivery: None,
                        delivery_failure: None,
                    }
                })
                .collect(),
        );
        self
    }

    /// The delivery state of each sent notification and relayed text, from `texts` (what the
    /// status webhooks recorded, by Vonage's message id): one sent without a receipt yet is
    /// `submitted`. Call after [`Self::with_messages`] with the same `messages`.
    pub fn with_deliveries(
        mut self,
        c: &Conversation,
        messages: &[RelayedMessage],
        texts: &HashMap<String, SentText>,
    ) -> Self {
        let state = |id: Option<&String>| {
            id.map(|id| match texts.get(id) {
                Some(t) => (t.state, t.reason.clone()),
                None => (DeliveryState::Submitted, None),
            })
        };
        for (view, p) in self.participants.iter_mut().zip(&c.participants) {
            let sent = p.notification.as_ref().and_then(|n| n.message_id.as_ref());
            if let Some((delivery, failure)) = state(sent) {
                (view.delivery, view.delivery_failure) = (Some(delivery), failure);
            }
        }
        if let Some(views) = &mut self.messages {
            for (view, m) in views.iter_mut().zip(messages) {
                if let Some((delivery, failure)) = state(m.outbound_id.as_ref()) {
                    (view.delivery, view.delivery_failure) = (Some(delivery), failure);
                }
            }
        }
        self
    }

    /// Vonage's ids of the texts whose delivery [`Self::with_deliveries`] shows.
    pub fn sent_texts(c: &Conversation, messages: &[RelayedMessage]) -> Vec<String> {
        c.participants
            .iter()
            .filter_map(|p| p.notification.as_ref()?.message_id.clone())
            .chain(messages.iter().filter_map(|m| m.outbound_id.clone()))
            .collect()
    }

    pub fn with_calls(
        mut self,
        c: &Conversation,
        interactions: &[Interaction],
        recordings: &[CallRecording],
    ) -> Self {
        self.calls = Some(
            interactions
                .iter()
                .map(|i| CallView::new(c, i, recordings))
                .collect(),
        );
        self
    }
}

impl From<&Participant> for ParticipantView {
    fn from(p: &Participant) -> Self {
        Self {
            number: p.number.as_str().to_owned(),
            label: p.label.clone(),
            proxy_number: p.proxy_number.as_str().to_owned(),
            country: p.country.clone(),
            language: p
                .language
                .clone()
                .unwrap_or_else(|| Language::for_country(&Country::unknown())),
            notified: p.notified(),
            notification_failure: p.notification.as_ref().and_then(|n| n.reason.clone()),
            delivery: None,
            delivery_failure: None,
            code: p.code.as_ref().map(|c| c.as_str().to_owned()),
            shared: p.shared,
            checked: p.checked,
            sms: p.takes_texts(),
            line: p.facts.line,
            time_zone: p
                .time_zone
                .as_ref()
                .map(|z| z.as_str().to_owned())
                .or_else(|| p.facts.time_zone.clone()),
            quiet_hours: p.quiet_hours.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ListView {
    pub conversations: Vec<ConversationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
