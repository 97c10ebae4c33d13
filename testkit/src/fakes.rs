//! In-memory fakes of the ports, for handler and use-case tests that need no server. They keep
//! the ports' promises (rule 2 and the cool-off on creation, one record per call, leg and
//! status, in-progress on the first answer, sliding expiry, claims taken once) in the simplest
//! way. `MemoryStore` is held to the real store by the contract suite (`shared/tests/
//! contract.rs`), which runs every store behaviour on both; the Vonage client's tests check its
//! requests against the specs with Prism.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use shared::model::{
    CallEvent, CallRecording, Conversation, ConversationStatus, DeliveryState, FreedPair,
    MissedCallNotice, Notification, NotificationStatus, NumberFacts, NumberState, PendingNumber,
    PoolNumber, Route, SentText, TextOwner,
};
use shared::model::{
    CallRef, CloseOutcome, Closing, CodeFailures, CodeGuess, CreateConflict, Exhaustion,
    ExpiredPage, ExpiryCursor, GuessSpent, Holdings, HookDecision, ListFilter, MessagePart, Page,
    RelayedMessage, RemoveOutcome, Sharing, StoreError, Unavailable, WriteError, sharing_of,
};
use shared::phone::Msisdn;
use shared::ports::{
    AccessCodes, CallControl, CallLog, Conversations, ExpiryIndex, HookLog, InsightCache, Leases,
    MissedCalls, Notifications, NumberChecker, NumberHealth, NumberInventory, Pool, RecordingFiles,
    RecordingSource, RouteReader, SmsLedger, SmsSender, TextLedger,
};
use shared::values::{AccessCode, ConversationId, Country, Reference};
use shared::vonage::{Api, Insight, NumberOffer, NumberQuery, VonageError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type EventKey = (String, String, String, String);

#[derive(Default)]
struct State {
    conversations: HashMap<ConversationId, Conversation>,
    references: HashMap<Reference, ConversationId>,
    pool: BTreeMap<String, PoolNumber>,
    pending: BTreeMap<String, PendingNumber>,
    /// (proxy, participant) → the pair a closed conversation gave back.
    freed: HashMap<(Msisdn, Msisdn), FreedPair>,
    leases: HashMap<String, (String, i64)>,
    call_refs: HashMap<String, CallRef>,
    events: BTreeMap<EventKey, CallEvent>,
    claims: HashSet<String>,
    parts: HashMap<(Msisdn, String), BTreeMap<u32, MessagePart>>,
    wholes: HashSet<(Msisdn, String)>,
    opt_outs: HashSet<(Msisdn, Msisdn)>,
    messages: Vec<(ConversationId, RelayedMessage)>,
    /// number → (international form, country, kept until).
    insights: HashMap<Msisdn, (Msisdn, Country, NumberFacts, i64)>,
    exhaustions: Vec<Exhaustion>,
    hook_decisions: Vec<HookDecision>,
    /// (conversation, call, recording) → a kept recording.
    recordings: BTreeMap<(ConversationId, String, String), CallRecording>,
    /// (conversation, caller index) → the latest missed-call notice and its quiet-until.
    missed: HashMap<(ConversationId, u8), (MissedCallNotice, i64)>,
    /// (proxy, caller) → wrong access codes typed there.
    code_failures: HashMap<(Msisdn, String), CodeFailures>,
    /// What each (number, day) spent on code guesses.
    code_guesses: HashMap<(Msisdn, i64), i64>,
    /// Vonage's message id → what became of that text.
    texts: HashMap<String, SentText>,
    /// Routes of open conversations that are no longer in the table: a shared pair's route
    /// goes with whichever of its conversations closes first, as the store's close deletes it.
    gone: HashSet<(Msisdn, Msisdn, ConversationId)>,
    /// (shown number, day) → that day's health tally; `None` for the whole pool's.
    tallies: HashMap<(Option<Msisdn>, i64), shared::model::Tally>,
    /// (call, leg) → (day counted on, answered): the callee's legs counted for health.
    counted_calls: HashMap<(String, String), (i64, bool)>,
    /// (conversation, at ms, index) → a console reveal.
    reveals: BTreeMap<(ConversationId, i64, u8), shared::model::Reveal>,
    day_counts: HashMap<i64, shared::model::DayCounts>,
    counted_changes: HashSet<String>,
}

impl State {
    /// The stored notice for `notice`'s call while its SMS is pending.
    fn pending_missed_call(
        &mut self,
        notice: &MissedCallNotice,
    ) -> Option<&mut (MissedCallNotice, i64)> {
        self.missed
            .get_mut(&(notice.conversation_id.clone(), notice.caller_index))
            .filter(|(stored, _)| {
                stored.call_id == notice.call_id
                    && stored.notification.status == NotificationStatus::Pending
            })
    }

    fn open(&self) -> impl Iterator<Item = &Conversation> {
        self.conversations
            .values()
            .filter(|c| c.status != ConversationStatus::Closed)
    }

    /// The routes the table would hold: those of open conversations, less the ones a close
    /// took with it.
    fn live_routes(&self) -> impl Iterator<Item = Route> + '_ {
        self.open().flat_map(|c| c.routes()).filter(|r| {
            self.gone.is_empty()
                || !self.gone.contains(&(
                    r.proxy_number.clone(),
                    r.caller.clone(),
                    r.conversation_id.clone(),
                ))
        })
    }

    /// The caller's route on `proxy`; ambiguous when they hold it in more than one open
    /// conversation.
    fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Option<Route> {
        let mut found = self
            .live_routes()
            .filter(|r| &r.proxy_number == proxy && &r.caller == caller);
        let first = found.next()?;
        let ambiguous = first.ambiguous || found.next().is_some();
        Some(Route { ambiguous, ..first })
    }

    /// The route of the open conversation's participant whose code on `proxy` is `code`.
    /// Live codes on `proxy`.
    fn codes_on(&self, proxy: &Msisdn) -> i64 {
        let held = self
            .open()
            .flat_map(|c| c.participants.iter())
            .filter(|p| &p.proxy_number == proxy && p.code.is_some())
            .count();
        i64::try_from(held).unwrap_or(i64::MAX)
    }

    fn code_route(&self, proxy: &Msisdn, code: &AccessCode) -> Option<Route> {
        self.open().find_map(|c| {
            let i = c
                .participants
                .iter()
                .position(|p| &p.proxy_number == proxy && p.code.as_ref() == Some(code))?;
            let route = c.routes()[i].clone();
            Some(Route {
                ambiguous: false,
                ..route
            })
        })
    }
}

/// A store in memory. `fail(true)` makes every request fail as a store that does not answer
/// does; `requests()` counts them.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    failing: AtomicBool,
    calls: AtomicUsize,
}

impl RouteReader for MemoryStore {
    async fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Result<Option<Route>, StoreError> {
        Ok(self.request()?.route(proxy, caller))
    }
}

impl Conversations for MemoryStore {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.request()?.conversations.get(id).cloned())
    }

    async fn find_by_reference(
        &self,
        reference: &Reference,
    ) -> Result<Option<Conversation>, StoreError> {
        let s = self.request()?;
        Ok(s.references
            .get(reference)
            .and_then(|id| s.conversations.get(id))
            .cloned())
    }

    /// Checks what the store's transaction checks, in its order, and writes all or nothing.
    async fn create_conversation_with(
        &self,
        c: &Conversation,
        quarantine_flagged: bool,
    ) -> Result<(), WriteError> {
        let mut s = self.request()?;
        if s.conversations.contains_key(&c.id) {
            return Err(WriteError::Conflict(CreateConflict::AlreadyWritten));
        }
        claim_pairs(&mut s, c, c.created_at, quarantine_flagged)?;
        s.conversations.insert(c.id.clone(), c.clone());
        Ok(())
    }

    async fn reopen_conversation(
        &self,
        closed: &Conversation,
        reopened: &Conversation,
        now: i64,
    ) -> Result<(), WriteError> {
        let mut s = self.request()?;
        let unchanged = s.conversations.get(&closed.id).is_some_and(|c| {
            c.status == ConversationStatus::Closed && c.closed_at == closed.closed_at
        });
        if !unchanged {
            return Err(WriteError::Conflict(CreateConflict::Contention));
        }
        claim_pairs(&mut s, reopened, now, false)?;
        s.conversations
            .insert(reopened.id.clone(), reopened.clone());
        Ok(())
    }

    async fn close_conversation(
        &self,
        id: &ConversationId,
        closing: &Closing,
    ) -> Result<Option<CloseOutcome>, StoreError> {
        let mut s = self.request()?;
        let Some(current) = s.conversations.get(id).cloned() else {
            return Ok(None);
        };
        if current.status == ConversationStatus::Closed {
            return Ok(Some(CloseOutcome::AlreadyClosed(current)));
        }
        let mut closed = current.clone();
        closed.status = ConversationStatus::Closed;
        closed.closed_at = Some(closing.at);
        closed.close_reason = Some(closing.reason);
        // The store deletes each route that is this conversation's or shared: the other
        // conversations sharing that pair lose their route with it (their calls there go by
        // code).
        for r in current.routes() {
            let deleted = s
                .route(&r.proxy_number, &r.caller)
                .is_some_and(|stored| stored.ambiguous || &stored.conversation_id == id);
            if !deleted {
                continue;
            }
            let sharing: Vec<ConversationId> = s
                .open()
                .filter(|c| {
                    &c.id != id
                        && c.routes()
                            .iter()
                            .any(|o| o.proxy_number == r.proxy_number && o.caller == r.caller)
                })
                .map(|c| c.id.clone())
                .collect();
            for other in sharing {
                s.gone
                    .insert((r.proxy_number.clone(), r.caller.clone(), other));
            }
        }
        for r in current.routes() {
            let pair = FreedPair {
                proxy_number: r.proxy_number.clone(),
                participant: r.caller.clone(),
                counterpart: r.callee.clone(),
                conversation_id: id.to_owned(),
                free_at: closing.at + closing.cool_off_seconds,
            };
            s.freed.insert((r.proxy_number, r.caller), pair);
        }
        for p in &current.participants {
            if let Some(n) = s.pool.get_mut(p.proxy_number.as_str()) {
                n.active_count -= 1;
            }
        }
        if let Some(r) = &current.reference {
            s.references.remove(r);
        }
        s.conversations.insert(id.to_owned(), closed.clone());
        Ok(Some(CloseOutcome::Closed(closed)))
    }

    /// Newest first; the cursor is how many were skipped.
    async fn extend_conversation(
        &self,
        c: &Conversation,
        expires_at: i64,
    ) -> Result<Option<Conversation>, StoreError> {
        let mut s = self.request()?;
        let Some(stored) = s.conversations.get_mut(&c.id) else {
            return Ok(None);
        };
        if stored.status == ConversationStatus::Closed || stored.expires_at >= expires_at {
            return Ok(None);
        }
        stored.expires_at = expires_at;
        Ok(Some(stored.clone()))
    }

    async fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        let s = self.request()?;
        let skip = match cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| StoreError::InvalidCursor)?,
        };
        let mut all: Vec<&Conversation> = s
            .conversations
            .values()
            .filter(|c| filter.status.is_none_or(|st| c.status == st))
            .filter(|c| {
                c.participants.iter().any(|x| {
                    filter.participant.as_ref().is_none_or(|p| &x.number == p)
                        && filter
                            .proxy_number
                            .as_ref()
                            .is_none_or(|p| &x.proxy_number == p)
                })
            })
            .collect();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let limit = limit.max(1) as usize;
        let items: Vec<Conversation> = all
            .iter()
            .skip(skip)
            .take(limit)
            .map(|c| (*c).clone())
            .collect();
        let next_cursor = (skip + limit < all.len()).then(|| (skip + limit).to_string());
        Ok(Page { items, next_cursor })
    }
}

impl shared::ports::RevealLog for MemoryStore {
    async fn record_reveal(&self, reveal: &shared::model::Reveal) -> Result<(), StoreError> {
        let mut s = self.request()?;
        let key = (reveal.conversation_id.clone(), reveal.at_ms, reveal.index);
        s.reveals.insert(key, reveal.clone());
        Ok(())
    }

    async fn reveals(&self, id: &ConversationId) -> Result<Vec<shared::model::Reveal>, StoreError> {
        let s = self.request()?;
        Ok(s.reveals
            .iter()
            .filter(|((c, _, _), _)| c == id)
            .map(|(_, r)| r.clone())
            .collect())
    }
}

impl shared::ports::DayStats for MemoryStore {
    async fn count_once(
        &self,
        change_id: &str,
        day: i64,
        counter: shared::model::DayCounter,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        if !s.counted_changes.insert(change_id.to_owned()) {
            return Ok(false);
        }
        s.day_counts.entry(day).or_default().add(counter, 1);
        Ok(true)
    }

    async fn day_counts(&self, day: i64) -> Result<shared::model::DayCounts, StoreError> {
        let s = self.request()?;
        Ok(s.day_counts.get(&day).copied().unwrap_or_default())
    }
}

impl CallLog for MemoryStore {
    async fn call_ref(&self, call_id: &str) -> Result<Option<CallRef>, StoreError> {
        Ok(self.request()?.call_refs.get(call_id).cloned())
    }

    async fn remember_call(&self, call_id: &str, call: &CallRef, _: i64) -> Result<(), StoreError> {
        self.request()?
            .call_refs
            .insert(call_id.to_owned(), call.clone());
        Ok(())
    }

    async fn record_event(
        &self,
        conversation_id: &ConversationId,
        event: &CallEvent,
        _: i64,
    ) -> Result<(), StoreError> {
        let key = (
            conversation_id.to_string(),
            event.call_id.clone(),
            event.leg.clone(),
            event.status.to_string(),
        );
        self.request()?.events.insert(key, event.clone());
        Ok(())
    }

    async fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> Result<(), StoreError> {
        let mut s = self.request()?;
        let Some(stored) = s.conversations.get_mut(&c.id) else {
            return Ok(());
        };
        if stored.status == ConversationStatus::Closed {
            return Ok(());
        }
        stored.last_activity = Some(stored.last_activity.unwrap_or(at).max(at));
        if answered && stored.status == ConversationStatus::Active {
            stored.status = ConversationStatus::InProgress;
        }
        if let Some(pushed) = stored.slid_expiry(at) {
            stored.expires_at = pushed;
        }
        Ok(())
    }

    async fn call_events(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<CallEvent>, StoreError> {
        drop(self.request()?);
        Ok(self.events(conversation_id.as_str()))
    }

    async fn recordings(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<CallRecording>, StoreError> {
        Ok(self
            .request()?
            .recordings
            .iter()
            .filter(|((c, _, _), _)| c == conversation_id)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn keep_recording(
        &self,
        conversation_id: &ConversationId,
        recording: &CallRecording,
        _: i64,
    ) -> Result<(), StoreError> {
        let key = (
            conversation_id.clone(),
            recording.call_id.clone(),
            recording.recording_id.clone(),
        );
        self.request()?.recordings.insert(key, recording.clone());
        Ok(())
    }
}

impl MissedCalls for MemoryStore {
    async fn claim_missed_call(
        &self,
        notice: &MissedCallNotice,
        quiet_until: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let key = (notice.conversation_id.clone(), notice.caller_index);
        if s.missed
            .get(&key)
            .is_some_and(|(_, quiet)| *quiet > notice.at)
        {
            return Ok(false);
        }
        s.missed.insert(key, (notice.clone(), quiet_until));
        Ok(true)
    }

    async fn missed_call(
        &self,
        id: &ConversationId,
        caller_index: u8,
    ) -> Result<Option<MissedCallNotice>, StoreError> {
        Ok(self
            .request()?
            .missed
            .get(&(id.clone(), caller_index))
            .map(|(notice, _)| notice.clone()))
    }

    async fn finish_missed_call(
        &self,
        notice: &MissedCallNotice,
        outcome: &Notification,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let Some((stored, _)) = s.pending_missed_call(notice) else {
            return Ok(false);
        };
        stored.notification = outcome.clone();
        Ok(true)
    }

    async fn count_missed_call_attempt(
        &self,
        notice: &MissedCallNotice,
    ) -> Result<Option<u32>, StoreError> {
        let mut s = self.request()?;
        Ok(s.pending_missed_call(notice).map(|(stored, _)| {
            stored.notification.attempts += 1;
            stored.notification.attempts
        }))
    }
}

impl Notifications for MemoryStore {
    async fn finish_notification(
        &self,
        id: &ConversationId,
        index: usize,
        outcome: &Notification,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let Some(n) = s
            .conversations
            .get_mut(id)
            .and_then(|c| c.participants[index.min(1)].notification.as_mut())
            .filter(|n| n.status == NotificationStatus::Pending)
        else {
            return Ok(false);
        };
        *n = outcome.clone();
        Ok(true)
    }

    async fn count_notification_attempt(
        &self,
        id: &ConversationId,
        index: usize,
    ) -> Result<Option<u32>, StoreError> {
        let mut s = self.request()?;
        Ok(s.conversations
            .get_mut(id)
            .and_then(|c| c.participants[index.min(1)].notification.as_mut())
            .filter(|n| n.status == NotificationStatus::Pending)
            .map(|n| {
                n.attempts += 1;
                n.attempts
            }))
    }
}

impl InsightCache for MemoryStore {
    async fn kept_insight(
        &self,
        number: &Msisdn,
        now: i64,
    ) -> Result<Option<(Msisdn, Country, NumberFacts)>, StoreError> {
        Ok(self
            .request()?
            .insights
            .get(number)
            .filter(|(_, _, _, until)| *until > now)
            .map(|(international, country, facts, _)| {
                (international.clone(), country.clone(), facts.clone())
            }))
    }

    async fn keep_insight(
        &self,
        number: &Msisdn,
        international: &Msisdn,
        country: &Country,
        facts: &NumberFacts,
        until: i64,
    ) -> Result<(), StoreError> {
        self.request()?.insights.insert(
            number.clone(),
            (international.clone(), country.clone(), facts.clone(), until),
        );
        Ok(())
    }
}

impl Pool for MemoryStore {
    async fn list_pool(&self) -> Result<Vec<PoolNumber>, StoreError> {
        let s = self.request()?;
        let mut numbers: Vec<PoolNumber> = s.pool.values().cloned().collect();
        numbers
            .sort_by(|a, b| (&a.country, a.msisdn.as_str()).cmp(&(&b.country, b.msisdn.as_str())));
        Ok(numbers)
    }

    async fn get_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
        Ok(self.request()?.pool.get(msisdn.as_str()).cloned())
    }

    async fn add_number(&self, number: &PoolNumber) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        if s.pool.contains_key(number.msisdn.as_str()) {
            return Ok(false);
        }
        s.pool
            .insert(number.msisdn.as_str().to_owned(), number.clone());
        Ok(true)
    }

    async fn retire_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
        let mut s = self.request()?;
        Ok(s.pool.get_mut(msisdn.as_str()).map(|n| {
            n.state = NumberState::Retired;
            n.clone()
        }))
    }

    async fn remove_number(&self, msisdn: &Msisdn) -> Result<RemoveOutcome, StoreError> {
        let mut s = self.request()?;
        Ok(match s.pool.get(msisdn.as_str()) {
            None => RemoveOutcome::NotFound,
            Some(n) if n.active_count > 0 || n.state != NumberState::Retired => {
                RemoveOutcome::InUse(n.active_count)
            }
            Some(_) => match s.pool.remove(msisdn.as_str()) {
                Some(n) => RemoveOutcome::Removed(Box::new(n)),
                None => RemoveOutcome::NotFound,
            },
        })
    }

    async fn holdings(&self, participant: &Msisdn) -> Result<Holdings, StoreError> {
        let s = self.request()?;
        let held = s
            .live_routes()
            .filter(|r| &r.caller == participant)
            .map(|r| r.proxy_number)
            .collect();
        let freed = s
            .freed
            .values()
            .filter(|f| &f.participant == participant)
            .cloned()
            .collect();
        Ok(Holdings { held, freed })
    }

    async fn list_pending(&self) -> Result<Vec<PendingNumber>, StoreError> {
        Ok(self.request()?.pending.values().cloned().collect())
    }

    async fn claim_pending(&self, pending: &PendingNumber) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let key = pending.msisdn.as_str().to_owned();
        if s.pending.contains_key(&key) {
            return Ok(false);
        }
        s.pending.insert(key, pending.clone());
        Ok(true)
    }

    async fn put_pending(&self, pending: &PendingNumber) -> Result<(), StoreError> {
        self.request()?
            .pending
            .insert(pending.msisdn.as_str().to_owned(), pending.clone());
        Ok(())
    }

    async fn drop_pending(&self, msisdn: &Msisdn) -> Result<(), StoreError> {
        self.request()?.pending.remove(msisdn.as_str());
        Ok(())
    }

    async fn complete_pending(&self, number: &PoolNumber) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let key = number.msisdn.as_str().to_owned();
        s.pending.remove(&key);
        if s.pool.contains_key(&key) {
            return Ok(false);
        }
        s.pool.insert(key, number.clone());
        Ok(true)
    }

    async fn record_exhaustion(&self, e: &Exhaustion) -> Result<(), StoreError> {
        self.request()?.exhaustions.push(e.clone());
        Ok(())
    }
}

impl AccessCodes for MemoryStore {
    async fn spend_code_guess(&self, guess: &CodeGuess<'_>) -> Result<GuessSpent, StoreError> {
        let mut s = self.request()?;
        let until = guess.now + guess.lock_seconds.max(1);
        let entry = s
            .code_failures
            .entry((guess.proxy.clone(), guess.caller.to_owned()))
            .or_insert(CodeFailures { failures: 0, until });
        if entry.locks(guess.max_failures, guess.now) {
            return Ok(GuessSpent::CallerLocked(*entry));
        }
        if entry.until <= guess.now {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.until = until;
        let failures = *entry;
        let cost = s.codes_on(guess.proxy).max(1);
        let spent = s
            .code_guesses
            .entry((guess.proxy.clone(), guess.day()))
            .or_default();
        if *spent + cost > guess.daily_budget {
            return Ok(GuessSpent::NumberSpent);
        }
        *spent += cost;
        Ok(GuessSpent::Allowed { failures, cost })
    }

    async fn refund_code_guess(&self, guess: &CodeGuess<'_>, cost: i64) -> Result<(), StoreError> {
        let mut s = self.request()?;
        if let Some(f) = s
            .code_failures
            .get_mut(&(guess.proxy.clone(), guess.caller.to_owned()))
        {
            f.failures = f.failures.saturating_sub(1);
        }
        if let Some(spent) = s.code_guesses.get_mut(&(guess.proxy.clone(), guess.day())) {
            *spent = (*spent - cost).max(0);
        }
        Ok(())
    }

    async fn code_route(
        &self,
        proxy: &Msisdn,
        code: &AccessCode,
    ) -> Result<Option<Route>, StoreError> {
        Ok(self.request()?.code_route(proxy, code))
    }

    async fn sharing(&self) -> Result<Sharing, StoreError> {
        let s = self.request()?;
        let mut held: HashMap<(&Msisdn, &Msisdn), usize> = HashMap::new();
        for p in s.open().flat_map(|c| c.participants.iter()) {
            if p.code.is_some() {
                *held.entry((&p.proxy_number, &p.number)).or_default() += 1;
            }
        }
        Ok(sharing_of(
            held.iter()
                .map(|((_, participant), k)| (participant.as_str(), *k)),
        ))
    }
}

impl HookLog for MemoryStore {
    async fn last_conversation(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> Result<Option<Conversation>, StoreError> {
        let s = self.request()?;
        Ok(s.freed
            .get(&(proxy.clone(), caller.clone()))
            .and_then(|f| s.conversations.get(&f.conversation_id))
            .cloned())
    }

    async fn record_hook(&self, decision: &HookDecision) -> Result<(), StoreError> {
        let mut s = self.request()?;
        s.hook_decisions
            .retain(|d| d.channel != decision.channel || d.key != decision.key);
        s.hook_decisions.push(decision.clone());
        Ok(())
    }
}

impl Leases for MemoryStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        hold_seconds: i64,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        if s.leases.get(name).is_some_and(|(_, until)| *until >= now) {
            return Ok(false);
        }
        s.leases
            .insert(name.to_owned(), (holder.to_owned(), now + hold_seconds));
        Ok(true)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut s = self.request()?;
        if s.leases.get(name).is_some_and(|(h, _)| h == holder) {
            s.leases.remove(name);
        }
        Ok(())
    }
}

impl TextLedger for MemoryStore {
    async fn note_sent(&self, id: &str, owner: &TextOwner, _until: i64) -> Result<(), StoreError> {
        let mut state = self.request()?;
        let text = state
            .texts
            .entry(id.to_owned())
            .or_insert_with(|| SentText {
                id: id.to_owned(),
                owner: None,
                state: DeliveryState::Submitted,
                reason: None,
                error_code: None,
            });
        text.owner = Some(owner.clone());
        Ok(())
    }

    async fn note_status(
        &self,
        id: &str,
        state: DeliveryState,
        reason: Option<&str>,
        error_code: Option<&str>,
        _now: i64,
    ) -> Result<bool, StoreError> {
        let rank = |s: DeliveryState| u8::from(s != DeliveryState::Submitted);
        let mut stored = self.request()?;
        // As the store's condition: only a first state, or one further than the one there.
        if stored
            .texts
            .get(id)
            .is_some_and(|t| rank(t.state) >= rank(state))
        {
            return Ok(false);
        }
        let text = stored
            .texts
            .entry(id.to_owned())
            .or_insert_with(|| SentText {
                id: id.to_owned(),
                owner: None,
                state,
                reason: None,
                error_code: None,
            });
        text.state = state;
        text.reason = reason.map(str::to_owned);
        text.error_code = error_code.map(str::to_owned);
        Ok(true)
    }

    async fn texts(&self, ids: &[String]) -> Result<HashMap<String, SentText>, StoreError> {
        let state = self.request()?;
        Ok(ids
            .iter()
            .filter_map(|id| state.texts.get(id).map(|t| (id.clone(), t.clone())))
            .collect())
    }
}

impl SmsLedger for MemoryStore {
    async fn messages(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<RelayedMessage>, StoreError> {
        let s = self.request()?;
        let mut found: Vec<RelayedMessage> = s
            .messages
            .iter()
            .filter(|(c, _)| c == conversation_id)
            .map(|(_, m)| m.clone())
            .collect();
        found.sort_by(|a, b| (a.at, &a.message_id).cmp(&(b.at, &b.message_id)));
        Ok(found)
    }

    async fn opted_out(&self, participant: &Msisdn, proxy: &Msisdn) -> Result<bool, StoreError> {
        Ok(self
            .request()?
            .opt_outs
            .contains(&(participant.clone(), proxy.clone())))
    }

    async fn claim_message(&self, message_id: &str, _: i64) -> Result<bool, StoreError> {
        Ok(self.request()?.claims.insert(message_id.to_owned()))
    }

    async fn release_message(&self, message_id: &str) -> Result<(), StoreError> {
        self.request()?.claims.remove(message_id);
        Ok(())
    }

    async fn put_part(
        &self,
        sender: &Msisdn,
        reference: &str,
        part: &MessagePart,
        _: i64,
    ) -> Result<Vec<MessagePart>, StoreError> {
        let mut s = self.request()?;
        let parts = s
            .parts
            .entry((sender.clone(), reference.to_owned()))
            .or_default();
        parts.insert(part.part, part.clone());
        Ok(parts.values().cloned().collect())
    }

    async fn claim_whole(
        &self,
        sender: &Msisdn,
        reference: &str,
        _: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .request()?
            .wholes
            .insert((sender.clone(), reference.to_owned())))
    }

    async fn release_whole(&self, sender: &Msisdn, reference: &str) -> Result<(), StoreError> {
        self.request()?
            .wholes
            .remove(&(sender.clone(), reference.to_owned()));
        Ok(())
    }

    async fn opt_out(
        &self,
        participant: &Msisdn,
        proxy: &Msisdn,
        _: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .request()?
            .opt_outs
            .insert((participant.clone(), proxy.clone())))
    }

    async fn opt_in(&self, participant: &Msisdn, proxy: &Msisdn) -> Result<bool, StoreError> {
        Ok(self
            .request()?
            .opt_outs
            .remove(&(participant.clone(), proxy.clone())))
    }

    async fn record_message(
        &self,
        conversation_id: &ConversationId,
        message: &RelayedMessage,
        _: i64,
    ) -> Result<(), StoreError> {
        // One record per (conversation, time, message id), as the table keys it: the same
        // message recorded again replaces itself.
        let mut s = self.request()?;
        s.messages.retain(|(c, m)| {
            !(c == conversation_id && m.at == message.at && m.message_id == message.message_id)
        });
        s.messages
            .push((conversation_id.to_owned(), message.clone()));
        Ok(())
    }
}

impl NumberHealth for MemoryStore {
    async fn count_call(&self, call: &shared::model::CountedCall) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        let leg = (call.call_id.clone(), call.leg.clone());
        let (day, calls, answered) = match s.counted_calls.get(&leg).copied() {
            None => (call.day, 1, u64::from(call.answered)),
            Some((day, false)) if call.answered => (day, 0, 1),
            Some(_) => return Ok(false),
        };
        s.counted_calls.insert(leg, (day, call.answered));
        for who in [Some(call.shown_number.clone()), None] {
            let tally = s.tallies.entry((who, day)).or_default();
            tally.calls += calls;
            tally.answered += answered;
        }
        Ok(true)
    }

    async fn number_tally(
        &self,
        msisdn: &Msisdn,
        from: i64,
        to: i64,
    ) -> Result<shared::model::Tally, StoreError> {
        let s = self.request()?;
        Ok(tally_of(&s, Some(msisdn), from, to))
    }

    async fn pool_tally(&self, from: i64, to: i64) -> Result<shared::model::Tally, StoreError> {
        let s = self.request()?;
        Ok(tally_of(&s, None, from, to))
    }

    async fn flag_number(
        &self,
        msisdn: &Msisdn,
        flag: &shared::model::HealthFlag,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        Ok(match s.pool.get_mut(msisdn.as_str()) {
            Some(n) if n.health_flag.is_none() => {
                n.health_flag = Some(*flag);
                true
            }
            _ => false,
        })
    }

    async fn clear_flag(
        &self,
        msisdn: &Msisdn,
        cleared: &shared::model::HealthCleared,
    ) -> Result<bool, StoreError> {
        let mut s = self.request()?;
        Ok(match s.pool.get_mut(msisdn.as_str()) {
            Some(n) if n.health_flag.is_some() => {
                n.health_flag = None;
                n.health_cleared = Some(*cleared);
                true
            }
            _ => false,
        })
    }
}

/// The sum of `who`'s daily tallies (the pool's with `None`) over days `from..=to`.
fn tally_of(s: &State, who: Option<&Msisdn>, from: i64, to: i64) -> shared::model::Tally {
    let mut total = shared::model::Tally::default();
    for ((number, day), tally) in &s.tallies {
        if number.as_ref() == who && (from..=to).contains(day) {
            total.add(tally);
        }
    }
    total
}

impl ExpiryIndex for MemoryStore {
    async fn expired(
        &self,
        shard: u32,
        now: i64,
        limit: i32,
        start: Option<ExpiryCursor>,
    ) -> Result<ExpiredPage, StoreError> {
        let s = self.request()?;
        if shard != 0 {
            return Ok(ExpiredPage::default());
        }
        let mut due: Vec<(i64, ConversationId)> = s
            .open()
            .filter(|c| c.expires_at <= now)
            .map(|c| (c.expires_at, c.id.clone()))
            .collect();
        due.sort();
        let after = start.map(|c| c.0);
        let from = match &after {
            Some(id) => due
                .iter()
                .position(|(_, i)| i.as_str() == id)
                .map_or(0, |p| p + 1),
            None => 0,
        };
        let page: Vec<ConversationId> = due
            .iter()
            .skip(from)
            .take(limit.max(1) as usize)
            .map(|(_, id)| id.clone())
            .collect();
        let more = from + page.len() < due.len();
        Ok(ExpiredPage {
            read: page.len() as i32,
            next: more
                .then(|| page.last().map(|id| ExpiryCursor(id.to_string())))
                .flatten(),
            ids: page,
        })
    }
}

impl MemoryStore {
    /// A store holding these conversations (and so their routes), written as they stand.
    pub fn with(conversations: impl IntoIterator<Item = Conversation>) -> Self {
        let store = Self::default();
        {
            let mut s = lock(&store.state);
            for c in conversations {
                if let Some(r) = &c.reference {
                    s.references.insert(r.clone(), c.id.clone());
                }
                s.conversations.insert(c.id.clone(), c);
            }
        }
        store
    }

    /// A store whose pool holds these active numbers, in `country`.
    pub fn with_pool(numbers: &[&str], country: &str) -> Self {
        let store = Self::default();
        for n in numbers {
            store.put_number(PoolNumber::new(
                Msisdn::from_digits(n).expect("a pool number in the test is a number"),
                country.parse().expect("a test country is a country code"),
                NumberState::Active,
                0,
            ));
        }
        store
    }

    /// Puts a number into the pool as it stands.
    pub fn put_number(&self, number: PoolNumber) {
        lock(&self.state)
            .pool
            .insert(number.msisdn.as_str().to_owned(), number);
    }

    /// How many records it holds, counted as the table would count its items (a conversation
    /// and each of its routes and its reference, a pool or pending number, a freed pair, ...):
    /// what a refused write must leave unchanged.
    pub fn footprint(&self) -> usize {
        let s = lock(&self.state);
        let routes = s.live_routes().count();
        s.conversations.len()
            + routes
            + s.references.len()
            + s.pool.len()
            + s.pending.len()
            + s.freed.len()
            + s.leases.len()
            + s.call_refs.len()
            + s.events.len()
            + s.claims.len()
            + s.parts.values().map(BTreeMap::len).sum::<usize>()
            + s.wholes.len()
            + s.opt_outs.len()
            + s.messages.len()
            + s.insights.len()
            + s.exhaustions.len()
            + s.hook_decisions.len()
            + s.recordings.len()
            + s.missed.len()
            + s.code_failures.len()
            + s.code_guesses.len()
            + s.texts.len()
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many requests were made of the store.
    pub fn requests(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn events(&self, conversation_id: &str) -> Vec<CallEvent> {
        lock(&self.state)
            .events
            .iter()
            .filter(|(k, _)| k.0 == conversation_id)
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn conversation_now(&self, id: &str) -> Option<Conversation> {
        let id: ConversationId = id.parse().ok()?;
        lock(&self.state).conversations.get(&id).cloned()
    }

    pub fn conversations_now(&self) -> Vec<Conversation> {
        lock(&self.state).conversations.values().cloned().collect()
    }

    pub fn number_now(&self, msisdn: &str) -> Option<PoolNumber> {
        lock(&self.state).pool.get(msisdn).cloned()
    }

    pub fn pending_now(&self) -> Vec<PendingNumber> {
        lock(&self.state).pending.values().cloned().collect()
    }

    /// Every relayed message kept, with its conversation.
    pub fn messages_now(&self) -> Vec<(ConversationId, RelayedMessage)> {
        lock(&self.state).messages.clone()
    }

    pub fn lease_held(&self, name: &str) -> bool {
        lock(&self.state).leases.contains_key(name)
    }

    fn request(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                kind: Unavailable::Timeout,
                source: Box::new(aws_sdk_dynamodb::Error::InternalServerError(
                    aws_sdk_dynamodb::types::error::InternalServerError::builder()
                        .message("the in-memory store is set to fail")
                        .build(),
                )),
            });
        }
        Ok(lock(&self.state))
    }

    /// The latest missed-call notice for `caller_index`'s calls in conversation `id`.
    pub fn missed_call_now(
        &self,
        id: &ConversationId,
        caller_index: u8,
    ) -> Option<MissedCallNotice> {
        lock(&self.state)
            .missed
            .get(&(id.clone(), caller_index))
            .map(|(notice, _)| notice.clone())
    }

    /// Every creation that found no number, as recorded.
    pub fn exhaustions_now(&self) -> Vec<Exhaustion> {
        lock(&self.state).exhaustions.clone()
    }

    /// Every hook answer carried out, as recorded.
    pub fn hook_decisions_now(&self) -> Vec<HookDecision> {
        lock(&self.state).hook_decisions.clone()
    }
}

/// Every open conversation sits in shard 0, oldest expiry first; the cursor is the last id.
/// One SMS the fake Vonage was asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub from: String,
    pub to: String,
    pub text: String,
    pub client_ref: Option<String>,
}

/// Vonage in memory: Number Insight says every number is valid in its own country unless told
/// otherwise, SMS are kept, and the account's numbers are a list of offers. `fail(api)` makes
/// every request to that API fail as an unreachable Vonage does.
#[derive(Default)]
pub struct FakeVonage {
    insight: Mutex<HashMap<String, Insight>>,
    sent: Mutex<Vec<SentSms>>,
    offers: Mutex<Vec<NumberOffer>>,
    owned: Mutex<BTreeMap<String, NumberOffer>>,
    linked: Mutex<HashMap<String, String>>,
    cancelled: Mutex<Vec<String>>,
    failing: Mutex<HashSet<&'static str>>,
    refusing: Mutex<HashSet<&'static str>>,
    requests: Mutex<Vec<&'static str>>,
    /// Call legs told what to do: (leg, `hangup` or the NCCO it was transferred to).
    legs: Mutex<Vec<(String, String)>>,
    /// Calls started through the Voice API.
    started: Mutex<Vec<StartedCallRecord>>,
}

/// A call the fake Voice API was asked to start.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedCallRecord {
    pub to: String,
    pub from: String,
    pub ncco: serde_json::Value,
    pub event_url: String,
    pub ringing_timer: u32,
    /// The `conversation_uuid` it answered with.
    pub call_id: String,
}

impl FakeVonage {
    /// What each call leg was told, in order: (leg, `hangup` or the NCCO transferred to).
    pub fn legs(&self) -> Vec<(String, String)> {
        lock(&self.legs).clone()
    }

    /// The calls started through the Voice API, in order.
    pub fn started_calls(&self) -> Vec<StartedCallRecord> {
        lock(&self.started).clone()
    }

    /// What Number Insight says of `number`.
    pub fn insight(&self, number: &str, answer: Insight) {
        lock(&self.insight).insert(number.to_owned(), answer);
    }

    /// Numbers a search offers (and that can then be bought).
    pub fn offer(&self, offers: impl IntoIterator<Item = NumberOffer>) {
        lock(&self.offers).extend(offers);
    }

    /// A number the account owns already.
    pub fn own(&self, offer: NumberOffer) {
        lock(&self.owned).insert(offer.msisdn.clone(), offer);
    }

    /// Requests to `api` fail: `insight`, `sms`, `search`, `buy`, `link`, `owned`, `cancel`.
    pub fn fail(&self, api: &'static str, failing: bool) {
        let mut f = lock(&self.failing);
        if failing {
            f.insert(api);
        } else {
            f.remove(api);
        }
    }

    pub fn sent(&self) -> Vec<SentSms> {
        lock(&self.sent).clone()
    }

    /// The application each number was linked to.
    pub fn linked(&self) -> HashMap<String, String> {
        lock(&self.linked).clone()
    }

    pub fn cancelled(&self) -> Vec<String> {
        lock(&self.cancelled).clone()
    }

    /// The APIs asked, in order.
    pub fn requests(&self) -> Vec<&'static str> {
        lock(&self.requests).clone()
    }

    /// Requests to `api` are refused for good (as an SMS to a barred number is), not failed
    /// for a while.
    pub fn refuse(&self, api: &'static str, refusing: bool) {
        let mut r = lock(&self.refusing);
        if refusing {
            r.insert(api);
        } else {
            r.remove(api);
        }
    }

    fn request(&self, name: &'static str, api: Api) -> Result<(), VonageError> {
        lock(&self.requests).push(name);
        if lock(&self.failing).contains(name) {
            return Err(VonageError::Status { api, status: 503 });
        }
        if lock(&self.refusing).contains(name) {
            return Err(refused(api, "refused for good"));
        }
        Ok(())
    }
}

fn refused(api: Api, message: &str) -> VonageError {
    VonageError::Rejected {
        api,
        code: "420".into(),
        message: message.into(),
    }
}

impl NumberChecker for FakeVonage {
    async fn check_number(&self, number: &Msisdn) -> Result<Insight, VonageError> {
        self.request("insight", Api::IdentityInsights)?;
        Ok(lock(&self.insight)
            .get(number.as_str())
            .cloned()
            .unwrap_or_else(|| Insight::Valid {
                international: number.clone(),
                country: number.region().unwrap_or_else(Country::unknown),
                facts: NumberFacts::default(),
            }))
    }
}

impl RecordingSource for FakeVonage {
    async fn download(&self, url: &str) -> Result<shared::files::Download, VonageError> {
        self.request("recording", Api::Voice)?;
        Ok(shared::files::Download::whole(
            format!("recording at {url}").into_bytes(),
        ))
    }
}

/// The recordings bucket in memory: objects by key; a link names the key it downloads.
#[derive(Default)]
pub struct MemoryBucket {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryBucket {
    /// Every object, by key.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.objects).clone()
    }
}

impl RecordingFiles for MemoryBucket {
    async fn put(
        &self,
        key: &str,
        download: shared::files::Download,
        _: &str,
    ) -> Result<(), shared::files::FilesError> {
        let bytes = download
            .collect()
            .await
            .map_err(|e| shared::files::FilesError::Request(Box::new(e)))?;
        lock(&self.objects).insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn link(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> Result<String, shared::files::FilesError> {
        Ok(format!("memory://{key}?expires={}", valid_for.as_secs()))
    }
}

impl CallControl for FakeVonage {
    async fn hang_up(&self, leg: &str) -> Result<(), VonageError> {
        self.request("voice", Api::Voice)?;
        lock(&self.legs).push((leg.to_owned(), "hangup".to_owned()));
        Ok(())
    }

    async fn transfer(&self, leg: &str, ncco: &shared::ncco::Ncco) -> Result<(), VonageError> {
        self.request("voice", Api::Voice)?;
        lock(&self.legs).push((leg.to_owned(), ncco.to_json()));
        Ok(())
    }

    async fn talk(
        &self,
        leg: &str,
        text: &str,
        language: Option<&shared::values::Language>,
    ) -> Result<(), VonageError> {
        self.request("voice", Api::Voice)?;
        let language = language.map_or(String::new(), |l| format!(" ({l})"));
        lock(&self.legs).push((leg.to_owned(), format!("talk: {text}{language}")));
        Ok(())
    }
}

impl shared::ports::CallStarter for FakeVonage {
    async fn create_call(
        &self,
        call: &shared::vonage::NewCall<'_>,
    ) -> Result<shared::vonage::StartedCall, VonageError> {
        self.request("voice", Api::Voice)?;
        let mut started = lock(&self.started);
        let n = started.len() + 1;
        let call_id = format!("CON-{n:08}-0000-4000-8000-000000000000");
        started.push(StartedCallRecord {
            to: call.to.as_str().to_owned(),
            from: call.from.as_str().to_owned(),
            ncco: serde_json::to_value(call.ncco).unwrap_or_default(),
            event_url: call.event_url.to_owned(),
            ringing_timer: call.ringing_timer,
            call_id: call_id.clone(),
        });
        Ok(shared::vonage::StartedCall {
            uuid: format!("leg-{n}"),
            conversation_uuid: call_id,
        })
    }
}

impl SmsSender for FakeVonage {
    async fn send_sms(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> Result<String, VonageError> {
        self.request("sms", Api::Sms)?;
        let mut sent = lock(&self.sent);
        sent.push(SentSms {
            from: from.as_str().to_owned(),
            to: to.as_str().to_owned(),
            text: text.to_owned(),
            client_ref: client_ref.map(str::to_owned),
        });
        Ok(format!("message-{}", sent.len()))
    }
}

impl NumberInventory for FakeVonage {
    async fn search_numbers(&self, query: &NumberQuery) -> Result<Vec<NumberOffer>, VonageError> {
        self.request("search", Api::Numbers)?;
        let owned = lock(&self.owned);
        Ok(lock(&self.offers)
            .iter()
            .filter(|o| query.country == o.country.as_str() && !owned.contains_key(&o.msisdn))
            .filter(|o| {
                query
                    .starts_with
                    .as_ref()
                    .is_none_or(|p| o.msisdn.starts_with(p.as_str()))
            })
            .take(query.size.max(1) as usize)
            .cloned()
            .collect())
    }

    async fn buy_number(&self, msisdn: &Msisdn, _: &Country) -> Result<(), VonageError> {
        self.request("buy", Api::Numbers)?;
        let offer = lock(&self.offers)
            .iter()
            .find(|o| o.msisdn == msisdn.as_str())
            .cloned()
            .ok_or_else(|| refused(Api::Numbers, "number not available"))?;
        lock(&self.owned).insert(offer.msisdn.clone(), offer);
        Ok(())
    }

    async fn link_number(
        &self,
        msisdn: &Msisdn,
        _: &Country,
        application_id: &str,
    ) -> Result<(), VonageError> {
        self.request("link", Api::Numbers)?;
        lock(&self.linked).insert(msisdn.as_str().to_owned(), application_id.to_owned());
        Ok(())
    }

    async fn owned_number(&self, msisdn: &Msisdn) -> Result<Option<NumberOffer>, VonageError> {
        self.request("owned", Api::Numbers)?;
        Ok(lock(&self.owned).get(msisdn.as_str()).cloned())
    }

    async fn cancel_number(&self, msisdn: &Msisdn, _: &Country) -> Result<(), VonageError> {
        self.request("cancel", Api::Numbers)?;
        if lock(&self.owned).remove(msisdn.as_str()).is_none() {
            return Err(refused(Api::Numbers, "number not owned"));
        }
        lock(&self.cancelled).push(msisdn.as_str().to_owned());
        Ok(())
    }
}

/// Rule 2 as the creation and reopen transactions keep it: both pairs free, no cool-off from
/// someone else at `now`, the reference free, the numbers active (and not flagged, with
/// `refuse_flagged`); then the counts and the reference taken.
fn claim_pairs(
    s: &mut State,
    c: &Conversation,
    now: i64,
    refuse_flagged: bool,
) -> Result<(), WriteError> {
    let routes = c.routes();
    for (i, r) in routes.iter().enumerate() {
        if !r.ambiguous && s.route(&r.proxy_number, &r.caller).is_some() {
            return Err(WriteError::Conflict(CreateConflict::RouteTaken(i)));
        }
    }
    for (i, p) in c.participants.iter().enumerate() {
        if let Some(code) = &p.code
            && s.code_route(&p.proxy_number, code).is_some()
        {
            return Err(WriteError::Conflict(CreateConflict::CodeTaken(i)));
        }
    }
    for (i, r) in routes.iter().enumerate() {
        if r.ambiguous {
            continue;
        }
        if let Some(f) = s.freed.get(&(r.proxy_number.clone(), r.caller.clone()))
            && f.free_at > now
            && f.counterpart != r.callee
        {
            return Err(WriteError::Conflict(CreateConflict::CoolingOff(i)));
        }
    }
    if let Some(r) = &c.reference
        && s.references.contains_key(r)
    {
        return Err(WriteError::Conflict(CreateConflict::ReferenceTaken));
    }
    for p in &c.participants {
        let usable = s.pool.get(p.proxy_number.as_str()).is_some_and(|n| {
            n.state == NumberState::Active && !(refuse_flagged && n.health_flag.is_some())
        });
        if !usable {
            return Err(WriteError::Conflict(CreateConflict::NumberUnavailable(
                p.proxy_number.clone(),
            )));
        }
    }
    for p in &c.participants {
        if let Some(n) = s.pool.get_mut(p.proxy_number.as_str()) {
            n.active_count += 1;
        }
    }
    if let Some(r) = &c.reference {
        s.references.insert(r.clone(), c.id.clone());
    }
    Ok(())
}
