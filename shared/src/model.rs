//! The product's records: conversations, their participants and routes, and pool numbers.

use serde::{Deserialize, Serialize};

use crate::phone::Msisdn;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConversationStatus {
    /// Created; calls connect.
    Active,
    /// At least one call was answered; calls connect.
    InProgress,
    /// Closed by `DELETE` or by expiry; nothing connects.
    Closed,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::InProgress => "in-progress",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "in-progress" => Some(Self::InProgress),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub number: Msisdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The proxy number this participant calls to reach the other one.
    pub proxy_number: Msisdn,
    /// ISO 3166 country, from Number Insight.
    pub country: String,
}

impl Participant {
    /// How this participant is named to the other one: their label, or a neutral word.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or("contact")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub status: ConversationStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; calls stop connecting at this instant whether or not the sweep has run.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub participants: [Participant; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloseReason {
    /// `DELETE /conversations/{id}`.
    Closed,
    /// Its `expires_at` passed.
    Expired,
}

impl Conversation {
    pub fn is_open_at(&self, now: i64) -> bool {
        self.status != ConversationStatus::Closed && now < self.expires_at
    }

    /// The routes this conversation owns: for each participant, (their proxy, their number)
    /// leads to the other participant, shown the other's proxy as caller ID.
    pub fn routes(&self) -> [Route; 2] {
        let [a, b] = &self.participants;
        [Route::between(self, 0, a, b), Route::between(self, 1, b, a)]
    }
}

/// (proxy number, caller's real number) → who to connect and with which caller ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub proxy_number: Msisdn,
    pub caller: Msisdn,
    pub conversation_id: String,
    /// Index of the caller in the conversation's participants.
    pub caller_index: u8,
    /// The other participant's real number: where the call goes.
    pub callee: Msisdn,
    /// The other participant's proxy number: the caller ID the callee sees.
    pub callee_proxy: Msisdn,
    pub expires_at: i64,
}

impl Route {
    fn between(c: &Conversation, index: u8, caller: &Participant, callee: &Participant) -> Self {
        Self {
            proxy_number: caller.proxy_number.clone(),
            caller: caller.number.clone(),
            conversation_id: c.id.clone(),
            caller_index: index,
            callee: callee.number.clone(),
            callee_proxy: callee.proxy_number.clone(),
            expires_at: c.expires_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberState {
    /// Assigned to new conversations.
    Active,
    /// Kept out of automatic assignment.
    Reserved,
    /// No new assignments.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolNumber {
    pub msisdn: Msisdn,
    /// ISO 3166 country.
    pub country: String,
    pub state: NumberState,
    /// Active conversations that use this number (for either participant).
    pub active_count: i64,
    pub added_at: i64,
}
