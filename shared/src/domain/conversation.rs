//! A conversation's life: created with both numbers checked and proxy numbers assigned under
//! rule 2 ([`create`]), and closed by one path ([`close`]) that `DELETE`, the expiry sweep and a
//! reference reused after expiry all take.

use crate::config::ConversationConfig;
use crate::domain::Retention;
use crate::domain::assign::{self, Draft, Person, Written};
pub use crate::domain::error::{CreateError, ReopenError};
use crate::error::error_chain;
use crate::model::{Checked, CloseReason, Conversation, ConversationStatus, ExpiryMode, Mode};
use crate::model::{
    CloseOutcome, Closing, CreateConflict, Exhaustion, Holdings, StoreError, WriteError,
};
use crate::phone::Msisdn;
use crate::ports::{Conversations, InsightCache, Leases, NumberChecker, NumberInventory, Pool};
use crate::telemetry;
use crate::values::{ConversationId, Label, Reference};
use crate::vonage::Insight;

/// A creation request, parsed and checked at the edge.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub numbers: [Msisdn; 2],
    pub labels: [Option<Label>; 2],
    pub ttl_seconds: u64,
    pub reference: Option<Reference>,
    pub expiry_mode: ExpiryMode,
    pub mode: Mode,
    /// Calls and texts are put to the intercept hook first.
    pub intercept: bool,
    /// The language each participant asked for; by default, their country's.
    pub languages: [Option<crate::values::Language>; 2],
    /// The time zone given for each participant; by default, the number check's.
    pub time_zones: [Option<crate::values::TimeZone>; 2],
    /// Each participant's quiet hours, which need a time zone, given or the number check's.
    pub quiet_hours: [Option<crate::model::QuietHours>; 2],
    /// What callers and callees hear, the configured defaults filled in.
    pub call: crate::model::CallSettings,
}

/// What creation produced.
#[derive(Debug, Clone)]
pub enum Created {
    /// A new conversation; each participant's notification SMS is pending (it is sent from
    /// the table's change stream, [`crate::domain::notify::deliver`]).
    New(Box<Conversation>),
    /// The open conversation that already holds the request's reference.
    Existing(Box<Conversation>),
}

/// Participant `index`'s number if a call can be connected to it (rule 5: 10 to 15 digits in
/// an NCCO).
pub fn callable(index: usize, number: Msisdn) -> Result<Msisdn, CreateError> {
    if number.fits_ncco() {
        Ok(number)
    } else {
        Err(CreateError::NotCallable {
            index,
            digits: number.as_str().len(),
        })
    }
}

/// How conversations are closed: how long their records stay, how long their pairs cool off.
#[derive(Debug, Clone, Copy)]
pub struct ClosePolicy {
    pub retention: Retention,
    pub cool_off_seconds: i64,
}

impl From<&ConversationConfig> for ClosePolicy {
    fn from(c: &ConversationConfig) -> Self {
        Self {
            retention: c.retention,
            cool_off_seconds: c.cool_off_seconds.max(0),
        }
    }
}

/// Closes a conversation at `now`; `None` for an unknown id. Closing a closed one changes
/// nothing and answers it as it is.
pub async fn close<S: Conversations>(
    store: &S,
    id: &ConversationId,
    reason: CloseReason,
    now: i64,
    policy: ClosePolicy,
) -> Result<Option<CloseOutcome>, StoreError> {
    let closing = Closing {
        reason,
        at: now,
        retain_until: policy.retention.until(now, now),
        cool_off_seconds: policy.cool_off_seconds,
    };
    let outcome = store.close_conversation(id, &closing).await?;
    if let Some(CloseOutcome::Closed(_)) = &outcome {
        let reason = match reason {
            CloseReason::Closed => "closed",
            CloseReason::Expired => "expired",
        };
        telemetry::count("ConversationsClosed", &[("Reason", reason)]);
    }
    Ok(outcome)
}

/// Why a conversation's expiry was not moved.
#[derive(Debug, thiserror::Error)]
pub enum ExtendError {
    #[error("no conversation with this id")]
    NotFound,
    #[error("the conversation is closed or expired; reopen it instead")]
    Closed,
    #[error("the conversation already expires as late as the longest lifetime allows")]
    AtLimit,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Moves an open conversation's expiry `seconds` later, to at most `max_ttl_seconds` from
/// `now` (an operator's extension): the conversation as it is then. Its routes and codes move
/// with it, so calls keep connecting until the new expiry.
pub async fn extend<S: Conversations>(
    store: &S,
    id: &ConversationId,
    seconds: i64,
    max_ttl_seconds: i64,
    now: i64,
) -> Result<Conversation, ExtendError> {
    let Some(c) = store.conversation(id).await? else {
        return Err(ExtendError::NotFound);
    };
    if !c.is_open_at(now) {
        return Err(ExtendError::Closed);
    }
    let until = (c.expires_at + seconds.max(0)).min(now + max_ttl_seconds);
    if until <= c.expires_at {
        return Err(ExtendError::AtLimit);
    }
    match store.extend_conversation(&c, until).await? {
        Some(extended) => {
            tracing::info!(conversation_id = %c.id, expires_at = until, "conversation extended");
            Ok(extended)
        }
        // Closed, or moved by someone else, in between.
        None => match store.conversation(id).await? {
            Some(now_is) if now_is.is_open_at(now) && now_is.expires_at >= until => Ok(now_is),
            Some(_) => Err(ExtendError::Closed),
            None => Err(ExtendError::NotFound),
        },
    }
}

/// What reopening came to.
#[derive(Debug, Clone)]
pub enum Reopened {
    /// It was closed and is open again, until `expires_at`.
    Reopened(Box<Conversation>),
    /// It was open already; nothing changed.
    AlreadyOpen(Box<Conversation>),
}

/// Opens a closed conversation again at `now` for `ttl_seconds`, within its retention, when both
/// its (proxy number, participant) pairs are free: the same rule 2 conditions as creation, in
/// one transaction. One past its expiry but not yet swept is closed first (as the sweep would).
/// Its participants keep their proxy numbers, so no one is told anything new.
pub async fn reopen<S: Conversations>(
    store: &S,
    id: &ConversationId,
    ttl_seconds: i64,
    now: i64,
    policy: ClosePolicy,
) -> Result<Reopened, ReopenError> {
    for _ in 0..assign::MAX_CONFLICT_RETRIES {
        let Some(c) = store.conversation(id).await? else {
            return Err(ReopenError::NotFound);
        };
        if c.is_open_at(now) {
            return Ok(Reopened::AlreadyOpen(Box::new(c)));
        }
        if c.status != ConversationStatus::Closed {
            close(store, id, CloseReason::Expired, now, policy).await?;
            continue;
        }
        let closed_at = c.closed_at.unwrap_or(c.expires_at);
        if now >= policy.retention.until(closed_at, closed_at) {
            return Err(ReopenError::PastRetention);
        }
        let open = c.reopened(now, ttl_seconds);
        let proxy = |i: usize| format!("+{}", c.participants[i.min(1)].proxy_number.as_str());
        return match store.reopen_conversation(&c, &open, now).await {
            Ok(()) => {
                tracing::info!(conversation_id = %c.id, "conversation reopened");
                Ok(Reopened::Reopened(Box::new(open)))
            }
            Err(WriteError::Conflict(CreateConflict::Contention)) => continue,
            Err(WriteError::Conflict(CreateConflict::RouteTaken(index))) => {
                Err(ReopenError::PairTaken {
                    index,
                    proxy: proxy(index),
                })
            }
            Err(WriteError::Conflict(CreateConflict::CoolingOff(index))) => {
                Err(ReopenError::CoolingOff {
                    index,
                    proxy: proxy(index),
                })
            }
            Err(WriteError::Conflict(CreateConflict::ReferenceTaken)) => {
                Err(ReopenError::ReferenceTaken)
            }
            Err(WriteError::Conflict(CreateConflict::CodeTaken(index))) => {
                Err(ReopenError::CodeTaken {
                    index,
                    proxy: proxy(index),
                })
            }
            Err(WriteError::Conflict(CreateConflict::NumberUnavailable(m))) => {
                Err(ReopenError::NumberUnavailable(format!("+{}", m.as_str())))
            }
            // Its own item is there, as it must be: only `Contention` stands for it above.
            Err(WriteError::Conflict(CreateConflict::AlreadyWritten)) => Err(ReopenError::Busy),
            Err(WriteError::Store(e)) => Err(e.into()),
        };
    }
    Err(ReopenError::Busy)
}

/// Creates a conversation: an open one with the same reference is answered as it is; both
/// numbers are checked with Number Insight; proxy numbers are assigned and the conversation
/// written under rule 2, each participant's notification SMS pending.
pub async fn create<S, V>(
    store: &S,
    vonage: &V,
    settings: &ConversationConfig,
    application_id: Option<&str>,
    new: NewConversation,
    now: i64,
) -> Result<Created, CreateError>
where
    S: Conversations + Pool + Leases + InsightCache,
    V: NumberChecker + NumberInventory,
{
    let closing = ClosePolicy::from(settings);
    if let Some(reference) = &new.reference
        && let Some(existing) = open_with_reference(store, reference, now, closing).await?
    {
        return Ok(Created::Existing(Box::new(existing)));
    }

    // Both number checks (kept answers, or lookups), the pool and what each participant holds
    // are read together.
    let [a, b] = &new.numbers;
    let keep = settings.insight_keep_seconds;
    let (looked_a, looked_b, pool, held_a, held_b) = tokio::join!(
        insight(store, vonage, a, now, keep),
        insight(store, vonage, b, now, keep),
        store.list_pool(),
        store.holdings(a),
        store.holdings(b),
    );
    let pool = pool?;
    let (held_a, held_b) = (held_a?, held_b?);
    // Answers from a new lookup are kept once the conversation is written.
    let to_keep = [looked_a.to_keep, looked_b.to_keep];
    let [label_a, label_b] = new.labels;
    let (mut person_a, mut person_b) = (looked_a.person(0, label_a)?, looked_b.person(1, label_b)?);
    // The number check's international form is the number calls will be connected to.
    person_a.number = callable(0, person_a.number)?;
    person_b.number = callable(1, person_b.number)?;
    if person_a.number == person_b.number {
        return Err(CreateError::SameParticipant);
    }
    for (i, n) in [&person_a.number, &person_b.number].into_iter().enumerate() {
        if pool.iter().any(|p| &p.msisdn == n) {
            return Err(CreateError::ProxyNumber(i));
        }
    }
    // Quiet hours are kept on a clock: the one given, else the number check's.
    for (i, person) in [&person_a, &person_b].into_iter().enumerate() {
        let checked = person.facts.time_zone.as_deref();
        if new.quiet_hours[i].is_some()
            && new.time_zones[i].is_none()
            && checked
                .and_then(|z| z.parse::<crate::values::TimeZone>().ok())
                .is_none()
        {
            return Err(CreateError::NoTimeZone(i));
        }
    }

    let draft = Draft {
        id: ConversationId::random(),
        now,
        ttl_seconds: new.ttl_seconds as i64,
        expiry_mode: new.expiry_mode,
        mode: new.mode,
        intercept: new.intercept,
        reference: new.reference,
        people: [person_a, person_b],
        languages: new.languages,
        time_zones: new.time_zones,
        quiet_hours: new.quiet_hours,
        call: new.call,
    };
    let policy = assign::Policy {
        sticky: settings.sticky,
        auto_rent: settings.auto_rent.as_ref(),
        application_id,
        access_codes: settings.access_codes,
        quarantine_flagged: settings.quarantine_flagged,
        geo_match: settings.geo_match,
    };
    // Holdings were read for the numbers as typed; one the number check wrote another way is
    // read again under the number calls will reach.
    let holdings_of = |i: usize, held: Holdings| {
        let (typed, number) = (&new.numbers[i], &draft.people[i].number);
        async move {
            if typed == number {
                Ok(held)
            } else {
                store.holdings(number).await
            }
        }
    };
    let (held_a, held_b) = tokio::join!(holdings_of(0, held_a), holdings_of(1, held_b));
    let holdings = [held_a?, held_b?];
    let written = assign::assign_and_write(store, vonage, policy, &draft, pool, holdings).await;
    if let Err(CreateError::PoolExhausted { index, country, .. }) = &written {
        let e = Exhaustion {
            country: country.clone(),
            index: *index,
            at_ms: now * 1000,
        };
        telemetry::count("PoolExhausted", &[("Country", e.country.as_str())]);
        if let Err(e) = store.record_exhaustion(&e).await {
            tracing::warn!(error = %error_chain(&e), "pool exhaustion not recorded");
        }
    }
    let conversation = match written? {
        Written::Created(c) => c,
        Written::ReferenceTaken => {
            let Some(reference) = draft.reference else {
                return Err(CreateError::ReferenceBusy);
            };
            return match open_with_reference(store, &reference, now, closing).await? {
                Some(existing) => Ok(Created::Existing(Box::new(existing))),
                None => Err(CreateError::ReferenceBusy),
            };
        }
    };
    tracing::info!(
        conversation_id = %conversation.id,
        proxy_a = %conversation.participants[0].proxy_number.masked(),
        proxy_b = %conversation.participants[1].proxy_number.masked(),
        "conversation created"
    );
    telemetry::count("ConversationsCreated", &[]);
    let keep_one = |i: usize| {
        let p = &conversation.participants[i];
        let typed = &new.numbers[i];
        async move {
            if !to_keep[i] {
                return;
            }
            if let Err(e) = store
                .keep_insight(typed, &p.number, &p.country, &p.facts, now + keep)
                .await
            {
                tracing::warn!(number = %typed.masked(), error = %error_chain(&e), "number check answer not kept");
            }
        }
    };
    tokio::join!(keep_one(0), keep_one(1));
    Ok(Created::New(conversation))
}

/// The number check's answer for a number, who gave it, and whether it is a new lookup to keep.
struct Looked {
    insight: Insight,
    checked: Checked,
    to_keep: bool,
}

impl Looked {
    /// Participant `index` as the check found them, or why they cannot take part.
    fn person(self, index: usize, label: Option<Label>) -> Result<Person, CreateError> {
        match self.insight {
            Insight::Valid {
                international,
                country,
                facts,
            } => Ok(Person {
                number: international,
                label,
                country,
                checked: self.checked,
                facts,
            }),
            Insight::NotValid { status, message } => Err(CreateError::NotValid {
                index,
                status,
                message,
            }),
        }
    }
}

/// The number check's answer for `number`: the one kept from an earlier lookup (for `keep`
/// seconds) if there is one, else a new lookup. Kept answers only save lookups: when the store
/// cannot read one, the lookup is made. A check that cannot answer (a timeout, throttling, an
/// outage, a status other than a definite answer) never fails a creation: the number is then
/// checked with libphonenumber alone, shows `checked: local`, is not kept, and is counted.
async fn insight<S: InsightCache, V: NumberChecker>(
    store: &S,
    vonage: &V,
    number: &Msisdn,
    now: i64,
    keep: i64,
) -> Looked {
    if keep > 0 {
        match store.kept_insight(number, now).await {
            Ok(Some((international, country, facts))) => {
                return Looked {
                    insight: Insight::Valid {
                        international,
                        country,
                        facts,
                    },
                    checked: Checked::Vonage,
                    to_keep: false,
                };
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(number = %number.masked(), error = %error_chain(&e), "kept number check answer not read")
            }
        }
    }
    match vonage.check_number(number).await {
        Ok(insight) => Looked {
            insight,
            checked: Checked::Vonage,
            to_keep: keep > 0,
        },
        Err(e) => {
            tracing::warn!(number = %number.masked(), error = %error_chain(&e), "number check could not answer: checked locally");
            telemetry::count("NumberCheckedLocally", &[]);
            Looked {
                insight: Insight::local(number),
                checked: Checked::Local,
                to_keep: false,
            }
        }
    }
}

/// The open conversation holding `reference`. One past its expiry is closed first (the same
/// path as the sweep), so the reference can start a new one.
async fn open_with_reference<S: Conversations>(
    store: &S,
    reference: &Reference,
    now: i64,
    policy: ClosePolicy,
) -> Result<Option<Conversation>, StoreError> {
    let Some(existing) = store.find_by_reference(reference).await? else {
        return Ok(None);
    };
    if existing.is_open_at(now) {
        return Ok(Some(existing));
    }
    close(store, &existing.id, CloseReason::Expired, now, policy).await?;
    Ok(None)
}
