//! The pages: what each shows, built from the store's records, and their templates
//! (`templates/`, escaped by the template engine everywhere). An agent's page never holds a
//! real number: a participant's number is shown masked, as the logs show it.

use std::collections::HashMap;

use askama::Template;
use shared::model::{
    CallRecording, Conversation, DayCounts, DeliveryState, Interaction, PoolNumber, RelayedMessage,
    Reveal, SentText, Tally,
};
use shared::values::ConversationId;

use crate::auth::Session;

/// The signed-in person as every page's header shows them.
pub struct UserView {
    pub name: String,
    pub role: &'static str,
    pub csrf: String,
    pub query: String,
}

impl UserView {
    pub fn of(session: &Session, query: &str) -> Self {
        Self {
            name: session.username.clone(),
            role: session.role.as_str(),
            csrf: session.csrf(),
            query: query.to_owned(),
        }
    }
}

/// A time as pages show it: UTC, to the second.
pub fn at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A value's name as the API spells it (its serde form).
fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn who(c: &Conversation, index: usize) -> String {
    let p = &c.participants[index.min(1)];
    match &p.label {
        Some(label) => label.as_str().to_owned(),
        None => format!("participant {index}"),
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub user: Option<UserView>,
    pub csrf: String,
    pub username: String,
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "new_password.html")]
pub struct NewPasswordPage {
    pub user: Option<UserView>,
    pub csrf: String,
    pub username: String,
    pub session: String,
    pub problem: Option<String>,
}

pub struct Row {
    pub id: ConversationId,
    pub reference: String,
    pub status: String,
    pub created: String,
    pub expires: String,
    pub participants: String,
}

impl Row {
    pub fn of(c: &Conversation, now: i64) -> Self {
        Self {
            id: c.id.clone(),
            reference: c
                .reference
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            status: name(&c.status_at(now)),
            created: at(c.created_at),
            expires: at(c.expires_at),
            participants: format!("{} and {}", who(c, 0), who(c, 1)),
        }
    }
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub user: Option<UserView>,
    pub note: Option<String>,
    pub results: Vec<Row>,
}

pub struct ParticipantRow {
    pub index: usize,
    pub label: String,
    pub masked: String,
    pub proxy: String,
    pub country: String,
    pub notified: String,
}

pub struct ConversationFacts {
    pub id: ConversationId,
    pub reference: String,
    pub status: String,
    pub open: bool,
    pub close_reason: Option<String>,
    pub created: String,
    pub expires: String,
    pub closed: Option<String>,
    pub participants: Vec<ParticipantRow>,
}

pub struct RecordingLink {
    pub href: String,
    pub label: String,
}

/// One line of the timeline.
pub struct Entry {
    pub at_ms: i64,
    pub at: String,
    /// `created`, `notification`, `call`, `text`, `closed`.
    pub kind: &'static str,
    pub title: String,
    pub outcome: String,
    pub details: String,
    pub recordings: Vec<RecordingLink>,
}

pub struct RevealRow {
    pub at: String,
    pub by: String,
    pub whose: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "conversation.html")]
pub struct ConversationPage {
    pub user: Option<UserView>,
    pub supervisor: bool,
    pub c: ConversationFacts,
    pub timeline: Vec<Entry>,
    pub reveals: Vec<RevealRow>,
}

/// What a conversation's page is built from: the store's records of it.
pub struct History<'a> {
    pub conversation: &'a Conversation,
    pub calls: &'a [Interaction],
    pub recordings: &'a [CallRecording],
    pub messages: &'a [RelayedMessage],
    pub texts: &'a HashMap<String, SentText>,
    pub reveals: &'a [Reveal],
}

fn delivery(text: Option<&SentText>) -> String {
    match text {
        None => "sent".into(),
        Some(t) => match (t.state, &t.reason) {
            (DeliveryState::Failed, Some(reason)) => format!("failed: {reason}"),
            (state, _) => state.as_str().to_owned(),
        },
    }
}

impl History<'_> {
    pub fn facts(&self, now: i64) -> ConversationFacts {
        let c = self.conversation;
        ConversationFacts {
            id: c.id.clone(),
            reference: c
                .reference
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            status: name(&c.status_at(now)),
            open: c.is_open_at(now),
            close_reason: c.close_reason.as_ref().map(name),
            created: at(c.created_at),
            expires: at(c.expires_at),
            closed: c.closed_at.map(at),
            participants: c
                .participants
                .iter()
                .enumerate()
                .map(|(index, p)| ParticipantRow {
                    index,
                    label: who(c, index),
                    masked: p.number.masked().to_string(),
                    proxy: format!("+{}", p.proxy_number.as_str()),
                    country: p.country.to_string(),
                    notified: match &p.notification {
                        None => "not tracked".into(),
                        Some(n) => {
                            let sent = n.message_id.as_ref().and_then(|id| self.texts.get(id));
                            match (name(&n.status).as_str(), sent) {
                                ("sent", text) => delivery(text),
                                (status, _) => status.to_owned(),
                            }
                        }
                    },
                })
                .collect(),
        }
    }

    /// Everything that happened, oldest first.
    pub fn timeline(&self, id: &ConversationId) -> Vec<Entry> {
        let c = self.conversation;
        let mut entries = vec![Entry {
            at_ms: c.created_at * 1000,
            at: at(c.created_at),
            kind: "created",
            title: "Created".into(),
            outcome: String::new(),
            details: format!("{} and {}", who(c, 0), who(c, 1)),
            recordings: Vec::new(),
        }];
        for (index, p) in c.participants.iter().enumerate() {
            let Some(n) = &p.notification else { continue };
            let sent = n.message_id.as_ref().and_then(|id| self.texts.get(id));
            let outcome = match name(&n.status).as_str() {
                "sent" => delivery(sent),
                "failed" => format!("failed: {}", n.reason.as_deref().unwrap_or("unknown")),
                other => other.to_owned(),
            };
            entries.push(Entry {
                at_ms: c.created_at * 1000 + 1,
                at: at(c.created_at),
                kind: "notification",
                title: format!("Text telling {} their number", who(c, index)),
                outcome,
                details: if n.attempts > 0 {
                    format!("{} attempts failed first", n.attempts)
                } else {
                    String::new()
                },
                recordings: Vec::new(),
            });
        }
        for call in self.calls {
            let from = usize::from(call.caller_index);
            let outcome = match &call.missed {
                Some(m) => format!("missed: {}", m.reason.as_str()),
                None => call.status.as_str().to_owned(),
            };
            let mut details = Vec::new();
            if let Some(d) = call.duration {
                details.push(format!("{d} s"));
            }
            if let Some(price) = &call.price {
                details.push(format!("EUR {price}"));
            }
            details.push(if call.routed_by.is_caller_id() {
                "routed by caller ID".to_owned()
            } else {
                "routed by access code".to_owned()
            });
            let recordings = self
                .recordings
                .iter()
                .filter(|r| r.call_id == call.call_id)
                .map(|r| RecordingLink {
                    href: format!(
                        "/console/conversations/{id}/calls/{}/recordings/{}",
                        r.call_id, r.recording_id
                    ),
                    label: format!("{} recording", name(&r.kind)),
                })
                .collect();
            entries.push(Entry {
                at_ms: call.started_at_ms,
                at: at(call.started_at_ms / 1000),
                kind: "call",
                title: format!("Call from {} to {}", who(c, from), who(c, 1 - from.min(1))),
                outcome,
                details: details.join(" · "),
                recordings,
            });
        }
        for m in self.messages {
            let from = usize::from(m.from_index);
            let outcome = match name(&m.status).as_str() {
                "submitted" => delivery(m.outbound_id.as_ref().and_then(|id| self.texts.get(id))),
                other => other.to_owned(),
            };
            entries.push(Entry {
                at_ms: m.at * 1000,
                at: at(m.at),
                kind: "text",
                title: format!("Text from {} to {}", who(c, from), who(c, 1 - from.min(1))),
                outcome,
                details: format!("{} part{}", m.parts, if m.parts == 1 { "" } else { "s" }),
                recordings: Vec::new(),
            });
        }
        if let Some(closed) = c.closed_at {
            entries.push(Entry {
                at_ms: closed * 1000,
                at: at(closed),
                kind: "closed",
                title: "Closed".into(),
                outcome: c.close_reason.as_ref().map(name).unwrap_or_default(),
                details: String::new(),
                recordings: Vec::new(),
            });
        }
        entries.sort_by_key(|e| e.at_ms);
        entries
    }

    pub fn reveal_rows(&self) -> Vec<RevealRow> {
        self.reveals
            .iter()
            .map(|r| RevealRow {
                at: at(r.at_ms / 1000),
                by: r.by.clone(),
                whose: who(self.conversation, usize::from(r.index)),
                reason: r.reason.clone(),
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub user: Option<UserView>,
    pub id: ConversationId,
    pub action: &'static str,
    pub heading: String,
    pub explanation: String,
    pub button: &'static str,
    pub csrf: String,
    pub index: usize,
}

#[derive(Template)]
#[template(path = "revealed.html")]
pub struct RevealedPage {
    pub user: Option<UserView>,
    pub id: ConversationId,
    pub whose: String,
    pub number: String,
}

impl RevealedPage {
    pub fn whose(c: &Conversation, index: usize) -> String {
        who(c, index)
    }
}

pub struct NumberRow {
    pub msisdn: String,
    pub country: String,
    pub state: String,
    pub active: i64,
    pub calls: u64,
    pub answered: u64,
    pub rate: String,
    pub health: String,
    pub health_class: &'static str,
}

impl NumberRow {
    pub fn of(n: &PoolNumber, tally: &Tally) -> Self {
        Self {
            msisdn: format!("+{}", n.msisdn.as_str()),
            country: n.country.to_string(),
            state: name(&n.state),
            active: n.active_count,
            calls: tally.calls,
            answered: tally.answered,
            rate: tally
                .rate()
                .map_or_else(|| "–".into(), |r| format!("{:.0}%", r * 100.0)),
            health: match &n.health_flag {
                Some(flag) => format!("flagged {}", at(flag.at)),
                None => "ok".into(),
            },
            health_class: if n.health_flag.is_some() {
                "flagged"
            } else {
                ""
            },
        }
    }
}

#[derive(Template)]
#[template(path = "pool.html")]
pub struct PoolPage {
    pub user: Option<UserView>,
    pub numbers: Vec<NumberRow>,
    pub flagged: usize,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub user: Option<UserView>,
    pub day: String,
    pub counts: DayCounts,
    pub connected: u64,
    pub missed: u64,
    pub pool_size: usize,
    pub flagged: usize,
}

#[derive(Template)]
#[template(path = "problem.html")]
pub struct ProblemPage {
    pub user: Option<UserView>,
    pub title: String,
    pub code: &'static str,
    pub detail: String,
}
