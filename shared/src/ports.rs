//! Ports: what the domain and the handlers need of the store and of Vonage, one small trait per
//! access pattern, in the product's own types (`crate::model`).
//!
//! The store's traits are the store's only face: each is implemented for `Store` in the
//! `store/` file of its access pattern (`RouteReader` in `store/routes.rs`, `CallLog` in
//! `store/calls.rs`, ...), and by the in-memory stand-in in `testkit`. The contract suite
//! (`shared/tests/contract.rs`) holds both to the same behaviour. A function names what it uses
//! with one bound alias of its own (`answer::AnswerStore`, ...).

use std::collections::HashMap;
use std::future::Future;

use crate::files::FilesError;
use crate::model::{
    CallEvent, CallRecording, CallRef, CallWarning, CloseOutcome, Closing, CodeGuess, Conversation,
    CountedCall, DayCounter, DayCounts, DeliveryState, Exhaustion, ExpiredPage, ExpiryCursor,
    GuessSpent, HealthCleared, HealthFlag, Holdings, HookDecision, ListFilter, MessagePart,
    MissedCallNotice, Notification, NumberFacts, Page, PendingNumber, PoolNumber, RelayedMessage,
    RemoveOutcome, Reveal, Route, SentText, Sharing, StoreError, Tally, TextOwner, TimerError,
    WriteError,
};
use crate::ncco::Ncco;
use crate::phone::Msisdn;
use crate::values::{AccessCode, ConversationId, Country, Language, Reference};
use crate::vonage::{
    Insight, NewCall, NumberOffer, NumberQuery, StartedCall, VoiceClient, VonageClient, VonageError,
};

type Stored<T> = Result<T, StoreError>;
type Sent<T> = Result<T, VonageError>;

// ---- the store --------------------------------------------------------------------------------

/// Routes (`store/routes.rs`): the route an inbound call or text takes, (proxy number, caller)
/// → conversation. The answer path's one read.
pub trait RouteReader: Send + Sync {
    fn route(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> impl Future<Output = Stored<Option<Route>>> + Send;
}

/// Conversations (`store/conversations.rs`): read, written whole under rule 2, reopened,
/// closed and listed.
pub trait Conversations: Send + Sync {
    fn conversation(
        &self,
        id: &ConversationId,
    ) -> impl Future<Output = Stored<Option<Conversation>>> + Send;

    /// The conversation holding `reference`, while it is not closed.
    fn find_by_reference(
        &self,
        reference: &Reference,
    ) -> impl Future<Output = Stored<Option<Conversation>>> + Send;

    /// Writes a new conversation, its routes and its reference, or nothing: a refused condition
    /// comes back as the [`crate::model::CreateConflict`] that names it.
    fn create_conversation(
        &self,
        c: &Conversation,
    ) -> impl Future<Output = Result<(), WriteError>> + Send {
        self.create_conversation_with(c, false)
    }

    /// [`Self::create_conversation`]; with `quarantine_flagged` (`QUARANTINE_FLAGGED`), a proxy
    /// number that number health flagged is refused too, as `NumberUnavailable`, in the same
    /// transaction: a number flagged after it was picked is not given.
    fn create_conversation_with(
        &self,
        c: &Conversation,
        quarantine_flagged: bool,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Opens a closed conversation again under the same rule 2 conditions as creation; a
    /// refused condition comes back as the [`crate::model::CreateConflict`] that names it.
    fn reopen_conversation(
        &self,
        closed: &Conversation,
        reopened: &Conversation,
        now: i64,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Moves an open conversation's expiry (with its routes and codes) to `expires_at`: the
    /// conversation as it is then, or `None` when it is unknown, closed, or already expires at
    /// `expires_at` or later.
    fn extend_conversation(
        &self,
        c: &Conversation,
        expires_at: i64,
    ) -> impl Future<Output = Stored<Option<Conversation>>> + Send;

    /// Closes it (routes given back, pairs cooling off); closing a closed one changes nothing.
    fn close_conversation(
        &self,
        id: &ConversationId,
        closing: &Closing,
    ) -> impl Future<Output = Stored<Option<CloseOutcome>>> + Send;

    /// A page of conversations, newest first, and the cursor of the next.
    fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Stored<Page<Conversation>>> + Send;
}

/// The call log (`store/calls.rs`): which conversation a call belongs to, the events of its
/// legs, its recordings, and the activity it notes on its conversation.
pub trait CallLog: Send + Sync {
    /// The conversation a call was matched to by an earlier event.
    fn call_ref(&self, call_id: &str) -> impl Future<Output = Stored<Option<CallRef>>> + Send;

    /// Remembers a call's conversation until `keep_until`, for its later events.
    fn remember_call(
        &self,
        call_id: &str,
        call: &CallRef,
        keep_until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// Keeps one event; the same (call, leg, status) again is the same record.
    fn record_event(
        &self,
        conversation_id: &ConversationId,
        event: &CallEvent,
        keep_until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// A conversation's call events, oldest first.
    fn call_events(
        &self,
        conversation_id: &ConversationId,
    ) -> impl Future<Output = Stored<Vec<CallEvent>>> + Send;

    /// Keeps a recording's record until `keep_until`; the same recording again is one record.
    fn keep_recording(
        &self,
        conversation_id: &ConversationId,
        recording: &CallRecording,
        keep_until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// The recordings kept of a conversation's calls.
    fn recordings(
        &self,
        conversation_id: &ConversationId,
    ) -> impl Future<Output = Stored<Vec<CallRecording>>> + Send;

    /// Notes activity at `at`: in-progress on the first answered call, and a sliding
    /// conversation's expiry moved along.
    fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> impl Future<Output = Stored<()>> + Send;
}

/// Missed calls (`store/missed.rs`): one notice per caller and conversation, and what became of
/// its SMS.
pub trait MissedCalls: Send + Sync {
    /// Writes a missed call's notice unless the same caller's last one is still in its quiet
    /// interval (`false` then).
    fn claim_missed_call(
        &self,
        notice: &MissedCallNotice,
        quiet_until: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// The latest missed-call notice for `caller_index`'s calls in a conversation.
    fn missed_call(
        &self,
        id: &ConversationId,
        caller_index: u8,
    ) -> impl Future<Output = Stored<Option<MissedCallNotice>>> + Send;

    /// Records how a missed call's SMS ended; `false` when it was recorded before or the notice
    /// was replaced by a later one.
    fn finish_missed_call(
        &self,
        notice: &MissedCallNotice,
        outcome: &Notification,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// Counts a failed attempt at a missed call's pending SMS: the attempts so far, `None` when
    /// it is no longer pending.
    fn count_missed_call_attempt(
        &self,
        notice: &MissedCallNotice,
    ) -> impl Future<Output = Stored<Option<u32>>> + Send;
}

/// Participants' notification SMS (`store/notifications.rs`), their outcomes recorded on the
/// conversation.
pub trait Notifications: Send + Sync {
    /// Records how participant `index`'s notification ended; `false` when it was recorded
    /// before.
    fn finish_notification(
        &self,
        id: &ConversationId,
        index: usize,
        outcome: &Notification,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// Counts a failed attempt while it is pending: the attempts so far, `None` when it is no
    /// longer pending.
    fn count_notification_attempt(
        &self,
        id: &ConversationId,
        index: usize,
    ) -> impl Future<Output = Stored<Option<u32>>> + Send;
}

/// Vonage's number-check answers kept per number (`store/insight.rs`; valid ones only), so a
/// returning participant costs no lookup.
pub trait InsightCache: Send + Sync {
    /// The international form, country and facts kept for `number`, if not past their time at
    /// `now`.
    fn kept_insight(
        &self,
        number: &Msisdn,
        now: i64,
    ) -> impl Future<Output = Stored<Option<(Msisdn, Country, NumberFacts)>>> + Send;

    fn keep_insight(
        &self,
        number: &Msisdn,
        international: &Msisdn,
        country: &Country,
        facts: &NumberFacts,
        until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;
}

/// The pool (`store/pool.rs`): its numbers, the numbers on their way into it, and what each
/// participant holds.
pub trait Pool: Send + Sync {
    fn list_pool(&self) -> impl Future<Output = Stored<Vec<PoolNumber>>> + Send;

    fn get_number(
        &self,
        msisdn: &Msisdn,
    ) -> impl Future<Output = Stored<Option<PoolNumber>>> + Send;

    /// `false` when the number is in the pool already.
    fn add_number(&self, number: &PoolNumber) -> impl Future<Output = Stored<bool>> + Send;

    /// The number, retired; `None` when it is not in the pool.
    fn retire_number(
        &self,
        msisdn: &Msisdn,
    ) -> impl Future<Output = Stored<Option<PoolNumber>>> + Send;

    /// Takes a retired number out of the pool, unless a conversation still uses it.
    fn remove_number(&self, msisdn: &Msisdn) -> impl Future<Output = Stored<RemoveOutcome>> + Send;

    /// The proxy numbers a participant holds and the pairs their closed conversations gave back.
    fn holdings(&self, participant: &Msisdn) -> impl Future<Output = Stored<Holdings>> + Send;

    fn list_pending(&self) -> impl Future<Output = Stored<Vec<PendingNumber>>> + Send;

    /// Records a number as being bought; `false` when another request is buying it.
    fn claim_pending(&self, pending: &PendingNumber) -> impl Future<Output = Stored<bool>> + Send;

    fn put_pending(&self, pending: &PendingNumber) -> impl Future<Output = Stored<()>> + Send;

    fn drop_pending(&self, msisdn: &Msisdn) -> impl Future<Output = Stored<()>> + Send;

    /// Moves a pending number into the pool; `false` when it is there already.
    fn complete_pending(&self, number: &PoolNumber) -> impl Future<Output = Stored<bool>> + Send;

    /// Records that a creation found no number (for `pool.exhausted`).
    fn record_exhaustion(&self, e: &Exhaustion) -> impl Future<Output = Stored<()>> + Send;
}

/// Number health (`store/health.rs`): each callee's leg counted once into its day's tally, for
/// the number it was shown and for the whole pool (atomic counters, a bounded number of items
/// per number: one a day, gone after the window), and the flag on a pool number.
pub trait NumberHealth: Send + Sync {
    /// Counts one call into its day. `false` when this leg was counted before with the same
    /// outcome, or answered (a redelivered or late record): each leg counts once, answered if
    /// any of its records says so, whatever order they come in.
    fn count_call(&self, call: &CountedCall) -> impl Future<Output = Stored<bool>> + Send;

    /// A number's tally over days `from..=to` (days since the epoch, UTC).
    fn number_tally(
        &self,
        msisdn: &Msisdn,
        from: i64,
        to: i64,
    ) -> impl Future<Output = Stored<Tally>> + Send;

    /// The whole pool's tally over days `from..=to`.
    fn pool_tally(&self, from: i64, to: i64) -> impl Future<Output = Stored<Tally>> + Send;

    /// Flags a pool number that is not flagged; `false` when it is flagged already or not in
    /// the pool.
    fn flag_number(
        &self,
        msisdn: &Msisdn,
        flag: &HealthFlag,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// Clears a flagged number's flag; `false` when it was not flagged (or not in the pool).
    fn clear_flag(
        &self,
        msisdn: &Msisdn,
        cleared: &HealthCleared,
    ) -> impl Future<Output = Stored<bool>> + Send;
}

/// Access codes (`store/codes.rs`): the route a typed code takes, the guesses spent before it
/// is looked up, and who shares proxy numbers.
pub trait AccessCodes: Send + Sync {
    /// Spends one typed code before it is looked up: against the caller's wrong codes on the
    /// number, then against the number's budget for the day.
    fn spend_code_guess(
        &self,
        guess: &CodeGuess<'_>,
    ) -> impl Future<Output = Stored<GuessSpent>> + Send;

    /// Gives back a guess whose code was right (`cost`: what it cost the number).
    fn refund_code_guess(
        &self,
        guess: &CodeGuess<'_>,
        cost: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// The route `code` names on `proxy`, if any.
    fn code_route(
        &self,
        proxy: &Msisdn,
        code: &AccessCode,
    ) -> impl Future<Output = Stored<Option<Route>>> + Send;

    /// Who shares proxy numbers now.
    fn sharing(&self) -> impl Future<Output = Stored<Sharing>> + Send;
}

/// What the hooks need (`store/hooks.rs`): the conversation a caller last had on a proxy
/// number, and a record of each hook answer carried out.
pub trait HookLog: Send + Sync {
    /// The conversation whose close freed (`proxy`, `caller`), while it is kept.
    fn last_conversation(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> impl Future<Output = Stored<Option<Conversation>>> + Send;

    fn record_hook(&self, decision: &HookDecision) -> impl Future<Output = Stored<()>> + Send;
}

/// Short leases (`store/leases.rs`) that keep two processes from doing the same work at once.
pub trait Leases: Send + Sync {
    /// Takes lease `name` until `now + hold_seconds`; `false` when someone holds it.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        hold_seconds: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn release_lease(&self, name: &str, holder: &str) -> impl Future<Output = Stored<()>> + Send;
}

/// What became of each text the product sent (`store/texts.rs`), by Vonage's id of it: whose
/// it is (from the sender) and how far it got (from the status webhooks), in either order.
pub trait TextLedger: Send + Sync {
    fn note_sent(
        &self,
        id: &str,
        owner: &TextOwner,
        until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// `false` for a repeat or a state that came late (a state only moves forward).
    fn note_status(
        &self,
        id: &str,
        state: DeliveryState,
        reason: Option<&str>,
        error_code: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn texts(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Stored<HashMap<String, SentText>>> + Send;
}

/// The SMS ledger (`store/sms.rs`): messages handled once, parts of long ones, opt-outs, and
/// the relayed messages of a conversation.
pub trait SmsLedger: Send + Sync {
    /// `false` when this message id was claimed before (a retry).
    fn claim_message(
        &self,
        message_id: &str,
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn release_message(&self, message_id: &str) -> impl Future<Output = Stored<()>> + Send;

    /// Keeps a part; every part of that message so far.
    fn put_part(
        &self,
        sender: &Msisdn,
        reference: &str,
        part: &MessagePart,
        now: i64,
    ) -> impl Future<Output = Stored<Vec<MessagePart>>> + Send;

    /// `false` when another part's delivery already relays the whole message.
    fn claim_whole(
        &self,
        sender: &Msisdn,
        reference: &str,
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn release_whole(
        &self,
        sender: &Msisdn,
        reference: &str,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// `false` when they had opted out already.
    fn opt_out(
        &self,
        participant: &Msisdn,
        proxy: &Msisdn,
        now: i64,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// `false` when there was no opt-out.
    fn opt_in(
        &self,
        participant: &Msisdn,
        proxy: &Msisdn,
    ) -> impl Future<Output = Stored<bool>> + Send;

    /// Whether `participant` has opted out of texts from `proxy`.
    fn opted_out(
        &self,
        participant: &Msisdn,
        proxy: &Msisdn,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn record_message(
        &self,
        conversation_id: &ConversationId,
        message: &RelayedMessage,
        retain_until: i64,
    ) -> impl Future<Output = Stored<()>> + Send;

    /// A conversation's relayed messages, oldest first.
    fn messages(
        &self,
        conversation_id: &ConversationId,
    ) -> impl Future<Output = Stored<Vec<RelayedMessage>>> + Send;
}

/// Open conversations past their expiry (`store/expiry.rs`), by shard, a page at a time.
pub trait ExpiryIndex: Send + Sync {
    fn expired(
        &self,
        shard: u32,
        now: i64,
        limit: i32,
        start: Option<ExpiryCursor>,
    ) -> impl Future<Output = Stored<ExpiredPage>> + Send;
}

/// Every store port: what the in-memory stand-in and the contract suite cover.
/// The console's reveal log (`store/reveals.rs`): each time a supervisor was shown a
/// participant's real number, kept with the conversation.
pub trait RevealLog: Send + Sync {
    fn record_reveal(&self, reveal: &Reveal) -> impl Future<Output = Stored<()>> + Send;

    /// A conversation's reveals, oldest first.
    fn reveals(&self, id: &ConversationId) -> impl Future<Output = Stored<Vec<Reveal>>> + Send;
}

/// The console overview's day counts (`store/stats.rs`): atomic counters per day (UTC), each
/// change counted once by the id of the stream record that carried it.
pub trait DayStats: Send + Sync {
    /// Adds one to `counter` on `day`; `false` when `change_id` was counted before.
    fn count_once(
        &self,
        change_id: &str,
        day: i64,
        counter: DayCounter,
    ) -> impl Future<Output = Stored<bool>> + Send;

    fn day_counts(&self, day: i64) -> impl Future<Output = Stored<DayCounts>> + Send;
}

pub trait StoreContract:
    RouteReader
    + Conversations
    + CallLog
    + MissedCalls
    + Notifications
    + InsightCache
    + Pool
    + AccessCodes
    + HookLog
    + Leases
    + TextLedger
    + SmsLedger
    + ExpiryIndex
    + NumberHealth
    + RevealLog
    + DayStats
{
}

impl<T> StoreContract for T where
    T: RouteReader
        + Conversations
        + CallLog
        + MissedCalls
        + Notifications
        + InsightCache
        + Pool
        + AccessCodes
        + HookLog
        + Leases
        + TextLedger
        + SmsLedger
        + ExpiryIndex
        + NumberHealth
        + RevealLog
        + DayStats
{
}

// ---- timers ------------------------------------------------------------------------------------

/// One-time timers for calls in progress (`crate::scheduler`: EventBridge Scheduler), named
/// after the call, so setting one twice sets it once.
pub trait CallTimers: Send + Sync {
    /// Schedules `warning` to be spoken at `warning.at`; one already set for the call stays.
    fn set_warning(
        &self,
        warning: &CallWarning,
    ) -> impl Future<Output = Result<(), TimerError>> + Send;

    /// Cancels the call's warning; one that is not set (or has gone off) is fine.
    fn cancel_warning(&self, call_id: &str) -> impl Future<Output = Result<(), TimerError>> + Send;
}

// ---- Vonage and the bucket --------------------------------------------------------------------

/// Where recordings are kept (the stack's bucket).
pub trait RecordingFiles: Send + Sync {
    /// Writes a recording at `key` as its bytes arrive.
    fn put(
        &self,
        key: &str,
        download: crate::files::Download,
        content_type: &str,
    ) -> impl Future<Output = Result<(), FilesError>> + Send;

    /// A short-lived link that downloads `key`.
    fn link(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> impl Future<Output = Result<String, FilesError>> + Send;
}

/// Recordings Vonage keeps, fetched with the application's token.
pub trait RecordingSource: Send + Sync {
    /// A recording, its size known before its bytes arrive.
    fn download(&self, url: &str) -> impl Future<Output = Sent<crate::files::Download>> + Send;
}

/// The number check (`NUMBER_CHECK`): is a number valid, in which international form and
/// country, and what else the check knows of it. An error is a check that could not answer.
pub trait NumberChecker: Send + Sync {
    fn check_number(&self, number: &Msisdn) -> impl Future<Output = Sent<Insight>> + Send;
}

/// Calls in progress, through the Voice API.
pub trait CallControl: Send + Sync {
    /// Ends one leg of a call.
    fn hang_up(&self, leg: &str) -> impl Future<Output = Sent<()>> + Send;

    /// Takes a leg out of what it is doing and plays it `ncco` instead.
    fn transfer(&self, leg: &str, ncco: &Ncco) -> impl Future<Output = Sent<()>> + Send;

    /// Speaks `text` into a leg, in `language`, while the call goes on.
    fn talk(
        &self,
        leg: &str,
        text: &str,
        language: Option<&Language>,
    ) -> impl Future<Output = Sent<()>> + Send;
}

/// Calls the backend starts, through the Voice API (click-to-call).
pub trait CallStarter: Send + Sync {
    /// Rings `call.to` from `call.from` and plays them `call.ncco` when they answer.
    fn create_call(&self, call: &NewCall<'_>) -> impl Future<Output = Sent<StartedCall>> + Send;
}

/// Sends one SMS; the message id.
pub trait SmsSender: Send + Sync {
    fn send_sms(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> impl Future<Output = Sent<String>> + Send;
}

/// The account's numbers: search, buy, link to the application, look up, cancel.
pub trait NumberInventory: Send + Sync {
    fn search_numbers(
        &self,
        query: &NumberQuery,
    ) -> impl Future<Output = Sent<Vec<NumberOffer>>> + Send;

    fn buy_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
    ) -> impl Future<Output = Sent<()>> + Send;

    fn link_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
        application_id: &str,
    ) -> impl Future<Output = Sent<()>> + Send;

    fn owned_number(
        &self,
        msisdn: &Msisdn,
    ) -> impl Future<Output = Sent<Option<NumberOffer>>> + Send;

    fn cancel_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
    ) -> impl Future<Output = Sent<()>> + Send;
}

// ---- the Vonage client and the bucket -------------------------------------------------------

/// Delegates each port method to the client's inherent method of the same name (inherent
/// methods win method resolution, so `VonageClient::name` is never the trait's own).
macro_rules! delegate {
    ($ty:ty => $trait_:ident { $(fn $name:ident(&self $(, $arg:ident: $t:ty)*) -> $out:ty;)* }) => {
        impl $trait_ for $ty {
            $(async fn $name(&self $(, $arg: $t)*) -> $out { <$ty>::$name(self $(, $arg)*).await })*
        }
    };
}

delegate!(crate::files::Bucket => RecordingFiles {
    fn put(&self, key: &str, download: crate::files::Download, content_type: &str) -> Result<(), FilesError>;
    fn link(&self, key: &str, valid_for: std::time::Duration) -> Result<String, FilesError>;
});

delegate!(VonageClient => NumberChecker {
    fn check_number(&self, number: &Msisdn) -> Sent<Insight>;
});

delegate!(VonageClient => SmsSender {
    fn send_sms(&self, from: &Msisdn, to: &Msisdn, text: &str, client_ref: Option<&str>) -> Sent<String>;
});

delegate!(VonageClient => NumberInventory {
    fn search_numbers(&self, query: &NumberQuery) -> Sent<Vec<NumberOffer>>;
    fn buy_number(&self, msisdn: &Msisdn, country: &Country) -> Sent<()>;
    fn link_number(&self, msisdn: &Msisdn, country: &Country, application_id: &str) -> Sent<()>;
    fn owned_number(&self, msisdn: &Msisdn) -> Sent<Option<NumberOffer>>;
    fn cancel_number(&self, msisdn: &Msisdn, country: &Country) -> Sent<()>;
});

delegate!(VoiceClient => RecordingSource {
    fn download(&self, url: &str) -> Sent<crate::files::Download>;
});

delegate!(VoiceClient => CallControl {
    fn hang_up(&self, leg: &str) -> Sent<()>;
    fn transfer(&self, leg: &str, ncco: &Ncco) -> Sent<()>;
    fn talk(&self, leg: &str, text: &str, language: Option<&Language>) -> Sent<()>;
});

delegate!(VoiceClient => CallStarter {
    fn create_call(&self, call: &NewCall<'_>) -> Sent<StartedCall>;
});
