//! What the management API shows of a conversation.

use serde::Serialize;
use shared::model::{CloseReason, Conversation, ConversationStatus, Participant};
use shared::rfc3339;

#[derive(Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    pub participants: Vec<ParticipantView>,
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The number this participant calls to reach the other.
    pub proxy_number: String,
    pub country: String,
    /// On creation: whether this participant's SMS was accepted by Vonage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified: Option<bool>,
}

impl ConversationView {
    /// The conversation as it stands at `now`: one past its expiry shows as closed (`expired`)
    /// even before the sweep has written it so, because it no longer connects.
    pub fn at(c: &Conversation, now: i64) -> Self {
        let expired_unswept = c.status != ConversationStatus::Closed && now >= c.expires_at;
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
            participants: c.participants.iter().map(ParticipantView::from).collect(),
        }
    }

    pub fn with_notified(mut self, notified: [bool; 2]) -> Self {
        for (p, sent) in self.participants.iter_mut().zip(notified) {
            p.notified = Some(sent);
        }
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
            notified: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ListView {
    pub conversations: Vec<ConversationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
