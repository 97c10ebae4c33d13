//! `POST /conversations`: the request read and checked; the creation itself is the domain's
//! (`shared::domain::conversation::create`).

use serde::Deserialize;
use shared::domain::conversation::{self, Created, NewConversation};
use shared::model::{ExpiryMode, Mode};
use shared::phone::Msisdn;
use shared::ports::{Conversations, InsightCache, Leases, NumberInsight, NumberInventory, Pool};
use shared::problem::ApiError;
use shared::values::{Label, Reference};

use crate::Deps;
use crate::view::ConversationView;

pub use shared::values::{MAX_LABEL_CHARS, MAX_REFERENCE_CHARS};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub participants: Vec<ParticipantRequest>,
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    #[serde(default)]
    pub reference: Option<String>,
    /// `absolute` (default): `expires_at` is fixed; `sliding`: each call extends it.
    #[serde(default)]
    pub expiry_mode: ExpiryMode,
    /// `voice`, `sms` or `voice-and-sms` (default): the channels relayed.
    #[serde(default)]
    pub mode: Mode,
    /// Calls and texts are put to the intercept hook (`INTERCEPT_URL`) before they go through.
    #[serde(default)]
    pub intercept: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantRequest {
    pub number: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// What creation answers: a new conversation (`201`) or the one that already holds the
/// request's `reference` (`200`).
pub enum Answer {
    New(ConversationView),
    Existing(ConversationView),
}

fn check(
    settings: &shared::config::ConversationConfig,
    req: CreateRequest,
) -> Result<NewConversation, ApiError> {
    let [a, b]: [ParticipantRequest; 2] = req.participants.try_into().map_err(|v: Vec<_>| {
        ApiError::InvalidRequest(format!(
            "a conversation has exactly two participants, not {}",
            v.len()
        ))
    })?;
    let numbers = [
        participant_number(0, &a.number)?,
        participant_number(1, &b.number)?,
    ];
    let labels = [check_label(0, a.label)?, check_label(1, b.label)?];
    if numbers[0] == numbers[1] {
        return Err(ApiError::SameParticipant);
    }
    let ttl = ttl_within(settings, req.ttl_seconds)?;
    let reference = req
        .reference
        .map(|r| r.parse::<Reference>())
        .transpose()
        .map_err(|e| ApiError::InvalidRequest(format!("reference must be {e}")))?;
    Ok(NewConversation {
        numbers,
        labels,
        ttl_seconds: ttl,
        reference,
        expiry_mode: req.expiry_mode,
        mode: req.mode,
        intercept: req.intercept,
    })
}

/// The lifetime asked for (or the default), within the configured bounds.
pub fn ttl_within(
    settings: &shared::config::ConversationConfig,
    asked: Option<u64>,
) -> Result<u64, ApiError> {
    let c = settings;
    let ttl = asked.unwrap_or(c.default_ttl_seconds);
    if !(c.min_ttl_seconds..=c.max_ttl_seconds).contains(&ttl) {
        return Err(ApiError::InvalidRequest(format!(
            "ttl_seconds must lie between {} and {}",
            c.min_ttl_seconds, c.max_ttl_seconds
        )));
    }
    Ok(ttl)
}

/// Reads participant `index`'s number as typed: any common format, a possible number for its
/// country, and one a call can be connected to (rule 5: 10 to 15 digits in an NCCO).
pub fn participant_number(index: usize, typed: &str) -> Result<Msisdn, ApiError> {
    let number = Msisdn::parse(typed)
        .map_err(|e| ApiError::InvalidNumber(format!("participants[{index}].number: {e}")))?;
    Ok(conversation::callable(index, number)?)
}

/// Labels go into SMS texts: short, plain ASCII words (GSM-7 keeps an SMS at 160 characters).
fn check_label(index: usize, label: Option<String>) -> Result<Option<Label>, ApiError> {
    label
        .map(|l| l.trim().parse::<Label>())
        .transpose()
        .map_err(|e| ApiError::InvalidRequest(format!("participants[{index}].label must be {e}")))
}
pub async fn create<S, V>(deps: &Deps<S, V>, req: CreateRequest) -> Result<Answer, ApiError>
where
    S: Conversations + Pool + Leases + InsightCache,
    V: NumberInsight + NumberInventory,
{
    let new = check(&deps.conversations, req)?;
    let now = shared::now();
    let created = conversation::create(
        &deps.store,
        &deps.vonage,
        &deps.conversations,
        deps.application_id.as_deref(),
        new,
        now,
    )
    .await?;
    Ok(match created {
        Created::New(conversation) => Answer::New(ConversationView::at(&conversation, now)),
        Created::Existing(existing) => Answer::Existing(ConversationView::at(&existing, now)),
    })
}
