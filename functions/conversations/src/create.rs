//! `POST /conversations`: validate both numbers, assign proxy numbers under rule 2, write the
//! conversation atomically, then tell each participant which number reaches the other.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use shared::config::AutoRent;
use shared::model::{
    CloseReason, Conversation, ConversationStatus, ExpiryMode, Mode, NumberState, Participant,
    PoolNumber,
};
use shared::phone::Msisdn;
use shared::problem::ApiError;
use shared::provision::{ProvisionRequest, Provisioner};
use shared::store::{CreateConflict, CreateError, StoreError};
use shared::vonage::{Insight, NumberQuery, VonageError};
use shared::{pool, rfc3339};

use crate::Deps;
use crate::view::ConversationView;

pub const MAX_LABEL_CHARS: usize = 32;
pub const MAX_REFERENCE_CHARS: usize = 64;

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantRequest {
    pub number: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// What creation produced: a new conversation (`201`) or the one that already holds the
/// request's `reference` (`200`).
pub enum Created {
    New(ConversationView),
    Existing(ConversationView),
}

struct Checked {
    numbers: [Msisdn; 2],
    labels: [Option<String>; 2],
    ttl: u64,
    reference: Option<String>,
    expiry_mode: ExpiryMode,
    mode: Mode,
}

fn check(deps: &Deps, req: CreateRequest) -> Result<Checked, ApiError> {
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
    let c = &deps.conversations;
    let ttl = req.ttl_seconds.unwrap_or(c.default_ttl_seconds);
    if !(c.min_ttl_seconds..=c.max_ttl_seconds).contains(&ttl) {
        return Err(ApiError::InvalidRequest(format!(
            "ttl_seconds must lie between {} and {}",
            c.min_ttl_seconds, c.max_ttl_seconds
        )));
    }
    let reference = match req.reference {
        None => None,
        Some(r) => {
            let ok = !r.is_empty()
                && r.len() <= MAX_REFERENCE_CHARS
                && r.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.:".contains(ch));
            if !ok {
                return Err(ApiError::InvalidRequest(format!(
                    "reference must be 1 to {MAX_REFERENCE_CHARS} letters, digits or - _ . :"
                )));
            }
            Some(r)
        }
    };
    Ok(Checked {
        numbers,
        labels,
        ttl,
        reference,
        expiry_mode: req.expiry_mode,
        mode: req.mode,
    })
}

/// Reads participant `index`'s number as typed: any common format, a possible number for its
/// country, and one a call can be connected to (rule 5: 10 to 15 digits in an NCCO).
pub fn participant_number(index: usize, typed: &str) -> Result<Msisdn, ApiError> {
    let number = Msisdn::parse(typed)
        .map_err(|e| ApiError::InvalidNumber(format!("participants[{index}].number: {e}")))?;
    callable(index, number)
}

fn callable(index: usize, number: Msisdn) -> Result<Msisdn, ApiError> {
    if number.fits_ncco() {
        Ok(number)
    } else {
        Err(ApiError::InvalidNumber(format!(
            "participants[{index}].number has {} digits; calls can be connected only to numbers \
             of {} to {} digits",
            number.as_str().len(),
            shared::phone::NCCO_PHONE_DIGITS.start(),
            shared::phone::NCCO_PHONE_DIGITS.end()
        )))
    }
}

/// Labels go into SMS texts: short, plain ASCII words (GSM-7 keeps an SMS at 160 characters).
fn check_label(index: usize, label: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(label) = label else { return Ok(None) };
    let label = label.trim().to_owned();
    let ok = !label.is_empty()
        && label.chars().count() <= MAX_LABEL_CHARS
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_.'".contains(c));
    if ok {
        Ok(Some(label))
    } else {
        Err(ApiError::InvalidRequest(format!(
            "participants[{index}].label must be 1 to {MAX_LABEL_CHARS} ASCII letters, digits, spaces or - _ . '"
        )))
    }
}

pub async fn create(deps: &Deps, req: CreateRequest) -> Result<Created, ApiError> {
    let checked = check(deps, req)?;
    let now = shared::now();

    if let Some(reference) = &checked.reference
        && let Some(existing) = existing_for_reference(deps, reference, now).await?
    {
        return Ok(Created::Existing(ConversationView::at(&existing, now)));
    }

    // Both Number Insight lookups and the pool read run together.
    let [a, b] = &checked.numbers;
    let (insight_a, insight_b, pool) = tokio::join!(
        deps.vonage.basic_insight(a),
        deps.vonage.basic_insight(b),
        deps.store.list_pool(),
    );
    let pool = pool?;
    let valid = |i: usize, r: Result<Insight, VonageError>| match r {
        Ok(Insight::Valid {
            international,
            country,
        }) => Ok((international, country)),
        Ok(Insight::NotValid { status, message }) => Err(ApiError::NumberNotValid(format!(
            "participants[{i}].number was refused by Number Insight (status {status}: {message})"
        ))),
        Err(e) => Err(ApiError::VonageUnavailable(e)),
    };
    let (number_a, country_a) = valid(0, insight_a)?;
    let (number_b, country_b) = valid(1, insight_b)?;
    // Number Insight's international form is the number calls will be connected to.
    let (number_a, number_b) = (callable(0, number_a)?, callable(1, number_b)?);
    if number_a == number_b {
        return Err(ApiError::SameParticipant);
    }
    for (i, n) in [&number_a, &number_b].into_iter().enumerate() {
        if pool.iter().any(|p| &p.msisdn == n) {
            return Err(ApiError::InvalidNumber(format!(
                "participants[{i}].number is one of this service's proxy numbers"
            )));
        }
    }

    let [label_a, label_b] = checked.labels;
    let draft = Draft {
        id: uuid::Uuid::new_v4().to_string(),
        now,
        expires_at: now + checked.ttl as i64,
        ttl: checked.ttl as i64,
        expiry_mode: checked.expiry_mode,
        mode: checked.mode,
        reference: checked.reference,
        people: [
            (number_a, label_a, country_a),
            (number_b, label_b, country_b),
        ],
    };
    let conversation = match assign_and_write(deps, &draft, pool).await? {
        Written::Created(c) => *c,
        Written::ReferenceTaken(reference) => {
            return match existing_for_reference(deps, &reference, now).await? {
                Some(existing) => Ok(Created::Existing(ConversationView::at(&existing, now))),
                None => Err(ApiError::Conflict(
                    "another request with this reference is in progress; try again".into(),
                )),
            };
        }
    };
    tracing::info!(
        conversation_id = %conversation.id,
        proxy_a = %conversation.participants[0].proxy_number.masked(),
        proxy_b = %conversation.participants[1].proxy_number.masked(),
        "conversation created"
    );

    let notified = notify(deps, &conversation).await;
    Ok(Created::New(
        ConversationView::at(&conversation, now).with_notified(notified),
    ))
}

/// The open conversation holding `reference`. One past its expiry is closed first (the same
/// path as the sweep), so the reference can start a new one.
async fn existing_for_reference(
    deps: &Deps,
    reference: &str,
    now: i64,
) -> Result<Option<Conversation>, ApiError> {
    let Some(existing) = deps.store.find_by_reference(reference).await? else {
        return Ok(None);
    };
    if existing.is_open_at(now) {
        return Ok(Some(existing));
    }
    deps.close(&existing.id, CloseReason::Expired, now).await?;
    Ok(None)
}

struct Draft {
    id: String,
    now: i64,
    expires_at: i64,
    ttl: i64,
    expiry_mode: ExpiryMode,
    mode: Mode,
    reference: Option<String>,
    people: [(Msisdn, Option<String>, String); 2],
}

enum Written {
    Created(Box<Conversation>),
    ReferenceTaken(String),
}

/// Picks a proxy number for each participant and writes the conversation; on a conflict, picks
/// again without the number that conflicted. The transaction's conditions, not the reads before
/// it, are what guarantee rule 2 and the cool-off.
async fn assign_and_write(
    deps: &Deps,
    d: &Draft,
    mut pool: Vec<PoolNumber>,
) -> Result<Written, ApiError> {
    let [(a, _, _), (b, _, _)] = &d.people;
    let (held_a, held_b) = tokio::join!(deps.store.holdings(a), deps.store.holdings(b));
    let holdings = [held_a?, held_b?];
    let counterpart = [b, a];
    let mut excluded: [HashSet<Msisdn>; 2] =
        [0, 1].map(|i| holdings[i].excluded(counterpart[i], d.now));
    let preferred: [Option<Msisdn>; 2] = [0, 1].map(|i| {
        deps.conversations
            .sticky
            .then(|| holdings[i].previous_with(counterpart[i]).cloned())
            .flatten()
    });
    let mut rentals = 0;
    // Each refused pick excludes a number, so picking ends at `pool_exhausted` by itself; only
    // conflicts with other transactions are retried as they are, a bounded number of times.
    let mut conflicts = 0;
    'attempts: loop {
        // The first pick counts as a use when ranking the second, to spread the load.
        let mut counted = pool.clone();
        let mut picks = Vec::with_capacity(2);
        for (i, (_, _, country)) in d.people.iter().enumerate() {
            let picked = pool::pick(
                &counted,
                &excluded[i],
                country,
                preferred[i].as_ref(),
                &mut rand::rng(),
            )
            .map(|n| n.msisdn.clone());
            let Some(msisdn) = picked else {
                let exhausted =
                    format!("no proxy number is free for participants[{i}] (country {country})");
                match &deps.conversations.auto_rent {
                    Some(policy) if rentals < 2 => {
                        rentals += 1;
                        rent(deps, policy, country, &d.id, &exhausted).await?;
                        pool = deps.store.list_pool().await?;
                        continue 'attempts;
                    }
                    _ => {
                        return Err(ApiError::PoolExhausted(format!(
                            "{exhausted}; add numbers to the pool"
                        )));
                    }
                }
            };
            if let Some(n) = counted.iter_mut().find(|n| n.msisdn == msisdn) {
                n.active_count += 1;
            }
            picks.push(msisdn);
        }
        let participants = [0, 1].map(|i| {
            let (number, label, country) = &d.people[i];
            Participant {
                number: number.clone(),
                label: label.clone(),
                proxy_number: picks[i].clone(),
                country: country.clone(),
            }
        });
        let conversation = Conversation {
            id: d.id.clone(),
            status: ConversationStatus::Active,
            created_at: d.now,
            expires_at: d.expires_at,
            reference: d.reference.clone(),
            participants,
            closed_at: None,
            close_reason: None,
            expiry_mode: d.expiry_mode,
            ttl_seconds: d.ttl,
            last_activity: None,
            mode: d.mode,
        };
        match deps.store.create_conversation(&conversation).await {
            Ok(()) => return Ok(Written::Created(Box::new(conversation))),
            Err(CreateError::Conflict(
                CreateConflict::RouteTaken(i) | CreateConflict::CoolingOff(i),
            )) => {
                excluded[i].insert(picks[i].clone());
            }
            Err(CreateError::Conflict(CreateConflict::NumberUnavailable(m))) => {
                excluded[0].insert(m.clone());
                excluded[1].insert(m);
            }
            Err(CreateError::Conflict(CreateConflict::ReferenceTaken)) => {
                return Ok(Written::ReferenceTaken(
                    d.reference.clone().unwrap_or_default(),
                ));
            }
            Err(CreateError::Conflict(CreateConflict::Contention)) => {
                conflicts += 1;
                if conflicts > MAX_CONFLICT_RETRIES {
                    return Err(StoreError::Contended.into());
                }
                let wait = 10 + rand::random_range(0..20 * conflicts as u64);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(CreateError::Store(e)) => return Err(e.into()),
        }
    }
}

/// How often one creation tries again after its transaction met another one on the same items,
/// before it answers `503 store_unavailable`.
pub const MAX_CONFLICT_RETRIES: u32 = 6;

/// Rents one number in `country` for a creation that found none to give, within the pool's
/// ceiling for that country. One renter per country at a time (a lease in the table): a
/// creation that finds the lease taken waits briefly and looks at the pool again.
async fn rent(
    deps: &Deps,
    policy: &AutoRent,
    country: &str,
    holder: &str,
    exhausted: &str,
) -> Result<(), ApiError> {
    let lease = format!("rent-{country}");
    let now = shared::now();
    let store = &deps.store;
    if !store.acquire_lease(&lease, holder, now, 60).await? {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return Ok(());
    }
    let outcome = rent_within_ceiling(deps, policy, country, exhausted, now).await;
    if let Err(e) = store.release_lease(&lease, holder).await {
        tracing::warn!(error = %shared::problem::error_chain(&e), "rent lease not released; it lapses in a minute");
    }
    outcome
}

async fn rent_within_ceiling(
    deps: &Deps,
    policy: &AutoRent,
    country: &str,
    exhausted: &str,
    now: i64,
) -> Result<(), ApiError> {
    let (pool, pending) = tokio::join!(deps.store.list_pool(), deps.store.list_pending());
    let held = pool?
        .iter()
        .filter(|n| n.country == country && n.state != NumberState::Retired)
        .count()
        + pending?.iter().filter(|p| p.country == country).count();
    if held >= policy.max_per_country {
        return Err(ApiError::PoolExhausted(format!(
            "{exhausted}, and the pool holds its ceiling of {} numbers for {country}",
            policy.max_per_country
        )));
    }
    let Some(application_id) = deps.application_id.as_deref() else {
        return Err(ApiError::PoolExhausted(format!(
            "{exhausted}; renting one needs VONAGE_APPLICATION_ID"
        )));
    };
    let provisioner = Provisioner {
        store: &deps.store,
        vonage: &deps.vonage,
        application_id,
    };
    let request = ProvisionRequest {
        query: NumberQuery {
            country: country.to_owned(),
            features: Some(policy.features.clone()),
            number_type: policy.number_type.clone(),
            starts_with: None,
            size: 0,
        },
        count: 1,
    };
    let report = provisioner.provision(&request, now).await?;
    if report.added.is_empty() && report.recovered.is_empty() {
        let why = report
            .failed
            .first()
            .map(|f| f.reason.clone())
            .unwrap_or_else(|| "no number was offered".into());
        return Err(ApiError::PoolExhausted(format!(
            "{exhausted}, and renting one failed: {why}"
        )));
    }
    tracing::info!(
        country,
        added = report.added.len(),
        "number rented for a new conversation"
    );
    Ok(())
}

/// Sends each participant, from their own proxy number, the number that reaches the other.
/// Both SMS go out together; a failure is logged and reported, never fatal.
async fn notify(deps: &Deps, c: &Conversation) -> [bool; 2] {
    let [a, b] = &c.participants;
    let text = |me: &Participant, other: &Participant| {
        deps.conversations
            .notify_template
            .replace("{other}", other.display_name())
            .replace("{proxy}", &format!("+{}", me.proxy_number.as_str()))
            .replace("{expires}", &rfc3339(c.expires_at))
    };
    let (text_a, text_b) = (text(a, b), text(b, a));
    let (sent_a, sent_b) = tokio::join!(
        deps.vonage
            .send_sms(&a.proxy_number, &a.number, &text_a, Some(&c.id)),
        deps.vonage
            .send_sms(&b.proxy_number, &b.number, &text_b, Some(&c.id)),
    );
    [sent_a, sent_b].map(|r| match r {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(conversation_id = %c.id, error = %shared::problem::error_chain(&e), "notification SMS not sent");
            false
        }
    })
}
