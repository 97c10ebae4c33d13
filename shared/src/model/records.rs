//! What the store is asked and answers in the product's own words: the records it keeps beside
//! conversations (call references, hook decisions, relayed messages, exhaustion), the shape of
//! a close, a listing or an expiry page, and what can go wrong. The ports speak these; the store
//! and any stand-in for it implement them.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{
    CallEvent, CloseReason, Conversation, ConversationStatus, FreedPair, MissedCallNotice,
    PoolNumber, SentText,
};
use crate::phone::Msisdn;
use crate::values::{ConversationId, Reference};

/// Which conversation a Vonage call (`conversation_uuid`) belongs to, and who placed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRef {
    pub conversation_id: ConversationId,
    pub caller_index: u8,
}

/// Wrong codes one caller typed on one proxy number, counted until `until` (Unix seconds),
/// which each wrong code moves to a lock-out period later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFailures {
    pub failures: u32,
    pub until: i64,
}

impl CodeFailures {
    /// Locked out at `now`: `max` wrong codes or more, the latest less than the lock-out ago.
    pub fn locks(&self, max: u32, now: i64) -> bool {
        self.failures >= max && now < self.until
    }
}

/// One typed code, spent before it is looked up.
#[derive(Debug, Clone, Copy)]
pub struct CodeGuess<'a> {
    pub proxy: &'a Msisdn,
    /// The caller's number, or `withheld#` and their own call's id.
    pub caller: &'a str,
    pub now: i64,
    /// How long after a caller's last wrong code their count goes on.
    pub lock_seconds: i64,
    /// Wrong codes a caller may type on the number within that time.
    pub max_failures: u32,
    /// What one number may spend in a day: each guess spends as many units as the number has
    /// live codes (the guess's chance, in codes out of all codes of that length).
    pub daily_budget: i64,
}

impl CodeGuess<'_> {
    pub fn day(&self) -> i64 {
        self.now.div_euclid(86_400)
    }
}

/// What spending a guess came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuessSpent {
    /// The code may be looked up: the caller's count with this guess, and what it cost the
    /// number (given back if the code is right).
    Allowed { failures: CodeFailures, cost: i64 },
    /// The caller has typed too many wrong codes on this number lately.
    CallerLocked(CodeFailures),
    /// The number's budget for the day is spent.
    NumberSpent,
}

/// How much of the pool is shared: participants holding one proxy number in more than one open
/// conversation, and the most conversations one participant holds on one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sharing {
    pub participants_sharing: usize,
    pub most_on_one_number: usize,
}

/// The sharing figures from the number of open conversations of each (proxy, participant),
/// given as (participant, count).
pub fn sharing_of<'a>(counts: impl IntoIterator<Item = (&'a str, usize)>) -> Sharing {
    let mut sharing = std::collections::HashSet::new();
    let mut most = 0;
    for (participant, k) in counts {
        if k > 1 {
            sharing.insert(participant);
        }
        most = most.max(k);
    }
    Sharing {
        participants_sharing: sharing.len(),
        most_on_one_number: most,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// This call closed it.
    Closed(Conversation),
    /// It was closed before.
    AlreadyClosed(Conversation),
}

/// How a conversation is closed: when, why, until when its records are kept, and how long the
/// pairs it gives back stay out of conversations with anyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    pub reason: CloseReason,
    pub at: i64,
    /// Unix seconds; the closed items' DynamoDB TTL.
    pub retain_until: i64,
    pub cool_off_seconds: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<ConversationStatus>,
    pub participant: Option<Msisdn>,
    /// Conversations that gave this proxy number to a participant.
    pub proxy_number: Option<Msisdn>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where an expiry query goes on: opaque to everyone but the store (and a fake of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryCursor(pub String);

/// What one expiry query found: conversation ids past their expiry, how many index entries it
/// read, and where to go on.
#[derive(Debug, Clone, Default)]
pub struct ExpiredPage {
    pub ids: Vec<ConversationId>,
    pub read: i32,
    pub next: Option<ExpiryCursor>,
}

/// Which hook answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    OutOfSession,
    Intercept,
}

/// What a hook was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Voice,
    Sms,
}

/// A hook's answer that was carried out, kept for a day. It names participants by index
/// only, never by number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDecision {
    /// The call's `conversation_uuid` or the text's message id: one record per call or text.
    pub key: String,
    pub hook: HookKind,
    pub channel: Channel,
    /// The action carried out (`connect`, `reopen`, `say`, `reject`, `relay`, `reply`, `ignore`,
    /// `deny`).
    pub action: String,
    /// The proxy number called or texted.
    pub proxy_number: Msisdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The caller's or sender's index in that conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_index: Option<u8>,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// What a participant holds: the proxy numbers of their active conversations, and the pairs
/// their closed conversations gave back (cooling off or remembered for sticky assignment).
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    pub held: HashSet<Msisdn>,
    pub freed: Vec<FreedPair>,
}

impl Holdings {
    /// Proxy numbers this participant may not be given in a conversation with `counterpart` at
    /// `now`: those they hold, and those still cooling off from someone else.
    pub fn excluded(&self, counterpart: &Msisdn, now: i64) -> HashSet<Msisdn> {
        let mut out = self.held.clone();
        out.extend(
            self.freed
                .iter()
                .filter(|f| f.free_at > now && &f.counterpart != counterpart)
                .map(|f| f.proxy_number.clone()),
        );
        out
    }

    /// The proxy number this participant last had with `counterpart`, if any.
    pub fn previous_with(&self, counterpart: &Msisdn) -> Option<&Msisdn> {
        self.freed
            .iter()
            .filter(|f| &f.counterpart == counterpart)
            .max_by_key(|f| f.free_at)
            .map(|f| &f.proxy_number)
    }
}

/// What became of a request to take a number out of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    Removed(Box<PoolNumber>),
    /// Active conversations still use it.
    InUse(i64),
    NotFound,
}

/// A creation that found no number for participant `index` in `country`: kept for a day, so
/// the change stream can tell the marketplace (`pool.exhausted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhaustion {
    pub country: crate::values::Country,
    pub index: usize,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// One part of a concatenated message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePart {
    pub part: u32,
    pub total: u32,
    pub text: String,
}

/// A text relayed through a conversation, without its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayedMessage {
    /// Vonage's id of the inbound message (its last part).
    pub message_id: String,
    /// Index of the participant who wrote it.
    pub from_index: u8,
    /// Unix seconds.
    pub at: i64,
    /// SMS parts it arrived in.
    pub parts: u32,
    pub status: crate::values::MessageStatus,
    /// Vonage's id of the onward message, for delivery receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed")]
    Dynamo(#[source] Box<aws_sdk_dynamodb::Error>),
    /// The store could not answer in time or asked us to slow down, after the SDK's bounded
    /// retries: the same request may well succeed a moment later.
    #[error("DynamoDB is unavailable ({kind})")]
    Unavailable {
        kind: Unavailable,
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("an item in the table could not be read")]
    Corrupt(#[source] serde_dynamo::Error),
    #[error("the pagination cursor is not valid")]
    InvalidCursor,
    #[error("the item kept changing while it was being written")]
    Contended,
}

/// Why the store was unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No answer within the time budget.
    Timeout,
    /// Throttled (request rate or provisioned throughput).
    Throttled,
    /// Another transaction held the same items.
    Conflict,
    /// The connection failed or was dropped.
    Unreachable,
    /// DynamoDB reported an internal error.
    ServerError,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out",
            Self::Throttled => "throttled",
            Self::Conflict => "transaction conflict",
            Self::Unreachable => "connection failed",
            Self::ServerError => "internal server error",
        })
    }
}

/// Why a conversation could not be written; each names what to try differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateConflict {
    /// Participant `index` already has an active conversation on their proposed proxy number.
    RouteTaken(usize),
    /// Participant `index` gave their proposed proxy number back less than the cool-off ago,
    /// from a conversation with someone else.
    CoolingOff(usize),
    /// Participant `index`'s access code is another open conversation's on the same proxy
    /// number.
    CodeTaken(usize),
    /// This pool number was retired or reserved meanwhile (or, with `QUARANTINE_FLAGGED`,
    /// flagged by number health).
    NumberUnavailable(Msisdn),
    /// Another conversation holds the same `reference`.
    ReferenceTaken,
    /// Another transaction touched the same items; the same write may succeed if tried again.
    Contention,
    /// The conversation's item is there already. Its id is new to this request, so this is the
    /// request's own write, applied by an attempt whose answer was lost: it is created.
    AlreadyWritten,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("conflict: {0:?}")]
    Conflict(CreateConflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One change of the table, as records.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A conversation written, updated or deleted (`None` on the side where it did not exist).
    Conversation {
        old: Option<Box<Conversation>>,
        new: Option<Box<Conversation>>,
    },
    /// A call event kept for the first time (a repeat overwrites itself and changes nothing).
    CallEvent {
        conversation_id: ConversationId,
        event: CallEvent,
    },
    /// A relayed message recorded.
    Message {
        conversation_id: ConversationId,
        message: RelayedMessage,
    },
    /// A creation found no number for a participant.
    PoolExhausted(Exhaustion),
    /// A hook's answer was carried out.
    Hook(HookDecision),
    /// A missed call's notice written (a callee to be texted) or its SMS's outcome recorded.
    MissedCall {
        old: Option<MissedCallNotice>,
        new: Option<MissedCallNotice>,
    },
    /// A pool number added, changed or taken out.
    Number {
        old: Option<PoolNumber>,
        new: Option<PoolNumber>,
    },
    /// A sent text's owner or state recorded.
    Text {
        old: Option<SentText>,
        new: Option<SentText>,
    },
    /// A supervisor revealed a participant's number in the console.
    Reveal(Reveal),
}

/// A participant's real number shown to a supervisor in the console: who saw it, when and why.
/// The number itself is not kept here; the conversation has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    pub conversation_id: ConversationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The participant whose number was shown (0 or 1), and their label.
    pub index: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<crate::values::Label>,
    /// The supervisor's user name in the console's user pool.
    pub by: String,
    /// What they wrote as the reason.
    pub reason: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// What the console's overview counts per day (UTC), each change counted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayCounter {
    Conversations,
    TextsDelivered,
    TextsFailed,
    Exhausted,
}

impl DayCounter {
    pub const ALL: [DayCounter; 4] = [
        Self::Conversations,
        Self::TextsDelivered,
        Self::TextsFailed,
        Self::Exhausted,
    ];

    /// Its attribute on the day's item.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conversations => "conversations",
            Self::TextsDelivered => "texts_delivered",
            Self::TextsFailed => "texts_failed",
            Self::Exhausted => "exhausted",
        }
    }
}

/// A day's counts (`DayCounter`s), zero where nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    #[serde(default)]
    pub conversations: u64,
    #[serde(default)]
    pub texts_delivered: u64,
    #[serde(default)]
    pub texts_failed: u64,
    #[serde(default)]
    pub exhausted: u64,
}

impl DayCounts {
    pub fn add(&mut self, counter: DayCounter, by: u64) {
        match counter {
            DayCounter::Conversations => self.conversations += by,
            DayCounter::TextsDelivered => self.texts_delivered += by,
            DayCounter::TextsFailed => self.texts_failed += by,
            DayCounter::Exhausted => self.exhausted += by,
        }
    }
}

/// One call's outcome for number health: the callee's leg of call `call_id`, shown
/// `shown_number`, answered or not, on `day` (days since the epoch, UTC, of its event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedCall {
    pub shown_number: Msisdn,
    pub call_id: String,
    pub leg: String,
    pub day: i64,
    pub answered: bool,
}

/// A warning to speak into a connected call shortly before its limit cuts it (PRODUCT.md,
/// "Calls the backend starts, and calls that respect people"): what the one-time schedule made
/// when the callee answered hands the warning function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallWarning {
    pub conversation_id: ConversationId,
    /// Vonage's `conversation_uuid` of the call: the schedule is named after it.
    pub call_id: String,
    /// When to speak it, Unix seconds.
    pub at: i64,
    /// Each leg it is spoken into, in its party's language.
    pub legs: Vec<SpokenLeg>,
}

/// A text spoken into one leg of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpokenLeg {
    /// Vonage's `uuid` of the leg.
    pub leg: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::values::Language>,
}

/// A timer that could not be set or cancelled.
#[derive(Debug, thiserror::Error)]
#[error("the scheduler did not set or cancel the timer")]
pub struct TimerError(#[source] pub Box<dyn std::error::Error + Send + Sync>);
