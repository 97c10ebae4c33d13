//! The product's records: conversations, their participants and routes, and pool numbers.

use serde::{Deserialize, Serialize};

mod records;
pub use records::*;

use crate::phone::Msisdn;
use crate::values::{
    AccessCode, CallStatus, ClockTime, ConversationId, Country, Feature, Label, Language,
    NumberType, Reference, TimeZone,
};

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
    pub label: Option<Label>,
    /// The proxy number this participant calls to reach the other one.
    pub proxy_number: Msisdn,
    /// ISO 3166 country, from Number Insight.
    pub country: Country,
    /// The SMS that tells them their proxy number; `None` on conversations written before it
    /// was tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    /// The language they hear; `None` on conversations written before it was kept (British
    /// English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// Their access code (`ACCESS_CODES`): typed when caller ID cannot route their call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AccessCode>,
    /// They hold their proxy number in another open conversation too (the pool was short):
    /// their calls to it are routed by their code, and their texts by the code they start with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
    /// Who checked their number: Vonage, or libphonenumber alone when Vonage's check could not
    /// answer (or `NUMBER_CHECK=local`).
    #[serde(default)]
    pub checked: Checked,
    /// What the check told of their number beyond its validity.
    #[serde(default, skip_serializing_if = "NumberFacts::is_empty")]
    pub facts: NumberFacts,
    /// The time zone given for them at creation, which wins over the number check's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<TimeZone>,
    /// When calls do not ring them, in their time zone (PRODUCT.md, "Calls the backend
    /// starts, and calls that respect people").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

/// A daily window in which calls do not ring a participant, on their own clock: from `start`
/// up to (not including) `end`, across midnight when `end` comes first (`22:00` to `07:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: ClockTime,
    pub end: ClockTime,
}

impl QuietHours {
    /// Whether the time of day `t` lies in the window.
    pub fn contains(&self, t: &ClockTime) -> bool {
        let (start, end, t) = (self.start.minutes(), self.end.minutes(), t.minutes());
        if start <= end {
            start <= t && t < end
        } else {
            t >= start || t < end
        }
    }
}

/// A participant's quiet hours with the time zone they are kept in, as a route carries them
/// for its callee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietWindow {
    pub hours: QuietHours,
    pub time_zone: TimeZone,
}

impl QuietWindow {
    /// Whether unix second `at` falls in the window, on the participant's clock.
    pub fn covers(&self, at: i64) -> bool {
        self.hours.contains(&self.time_zone.clock_at(at))
    }
}

/// Who checked a participant's number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Checked {
    /// Identity Insights or Number Insight (and conversations from before this was kept).
    #[default]
    Vonage,
    /// libphonenumber alone.
    Local,
}

/// The kind of line a number is on, from its original carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineType {
    Mobile,
    Landline,
    Tollfree,
    Premium,
    Virtual,
    /// A kind Vonage added after this was written (the enum is extensible).
    Other,
}

impl LineType {
    /// Identity Insights' `network_type`.
    pub fn from_network_type(t: &str) -> Self {
        match t {
            "MOBILE" => Self::Mobile,
            "LANDLINE" => Self::Landline,
            "TOLLFREE" => Self::Tollfree,
            "PREMIUM" => Self::Premium,
            "VIRTUAL" => Self::Virtual,
            _ => Self::Other,
        }
    }
}

/// What a number check told of a number beyond its validity; each part only where it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFacts {
    /// The kind of line (`original_carrier.network_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<LineType>,
    /// A tz database name: the first of the format insight's `time_zones`, unless `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Where the number was first assigned, from its prefix (the format insight's
    /// `offline_location`), such as `Georgia`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl NumberFacts {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether texts can reach the number: all but a landline can.
    pub fn takes_texts(&self) -> bool {
        self.line != Some(LineType::Landline)
    }
}

/// Where a participant's notification SMS stands. It is sent after the conversation is written
/// (by the stream consumer), so creation never waits on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub status: NotificationStatus,
    /// Attempts that failed in a way a later one may not (an outage, throttling).
    #[serde(default)]
    pub attempts: u32,
    /// Why it finally failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Vonage's id of the text once it was accepted, which its statuses name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl Notification {
    pub fn pending() -> Self {
        Self {
            status: NotificationStatus::Pending,
            attempts: 0,
            reason: None,
            message_id: None,
        }
    }
}

/// How far a text the product sent got: Vonage accepted it, then a receipt from the network
/// said it reached the handset or that it never will. Without a receipt it stays submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Submitted,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// Which text of which conversation a sent text is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TextKind {
    /// The text that told participant `index` their proxy number.
    Notification {
        index: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<Label>,
    },
    /// A text participant `from_index` wrote, sent on to the other one.
    Relayed { from_index: u8 },
    /// The text that told the callee of a missed call from participant `caller_index`.
    MissedCall { caller_index: u8 },
}

/// Whose a sent text is: its conversation (and reference, for its events) and which text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextOwner {
    pub conversation_id: ConversationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(flatten)]
    pub kind: TextKind,
}

/// What is known of one text the product sent, by Vonage's id of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentText {
    pub id: String,
    /// `None` while only a status has arrived (Vonage does not order them after the send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<TextOwner>,
    pub state: DeliveryState,
    /// Why it failed: `rejected` or `undeliverable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Vonage's code for the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
}

impl Participant {
    /// Where their notification SMS stands; `None` on conversations from before it was tracked.
    pub fn notified(&self) -> Option<NotificationStatus> {
        self.notification.as_ref().map(|n| n.status)
    }

    /// Whether texts can reach them (a landline cannot).
    pub fn takes_texts(&self) -> bool {
        self.facts.takes_texts()
    }

    /// How this participant is named to the other one: their label, or a neutral word.
    pub fn display_name(&self) -> &str {
        self.label.as_ref().map_or(NEUTRAL_NAME, Label::as_str)
    }

    /// Their time zone: the one given at creation, else the number check's where it is one
    /// the tz database knows.
    pub fn zone(&self) -> Option<TimeZone> {
        self.time_zone
            .clone()
            .or_else(|| self.facts.time_zone.as_deref().and_then(|z| z.parse().ok()))
    }

    /// Their quiet hours in their time zone, when they have both.
    pub fn quiet_window(&self) -> Option<QuietWindow> {
        Some(QuietWindow {
            hours: self.quiet_hours.clone()?,
            time_zone: self.zone()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub status: ConversationStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; calls stop connecting at this instant whether or not the sweep has run.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    pub participants: [Participant; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    #[serde(default)]
    pub expiry_mode: ExpiryMode,
    /// The lifetime asked for at creation; a sliding conversation is extended by it.
    #[serde(default)]
    pub ttl_seconds: i64,
    /// Unix seconds of the latest call event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<i64>,
    /// The channels it relays.
    #[serde(default)]
    pub mode: Mode,
    /// Its calls and texts are put to the intercept hook (`INTERCEPT_URL`) first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intercept: bool,
    /// What its callers and callees hear.
    #[serde(default)]
    pub call: CallSettings,
}

/// What a conversation's callers and callees hear (PRODUCT.md, "Call settings"), with the
/// defaults from configuration filled in at creation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSettings {
    /// Spoken to the caller before connecting, `{callee}` the callee's label; empty for none.
    /// `None` on conversations written before it was kept: the configured announcement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
    /// Spoken to the callee when they pick up, before the two are bridged: `{caller}` the
    /// caller's label, `{reference}` the conversation's reference. `None`: no whisper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whisper: Option<String>,
    /// The callee presses 1 to take the call after the whisper; anything else ends their leg
    /// and the caller is told they could not take it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whisper_accept: bool,
    /// Both parties are told the call is recorded, in their language, and the bridged call is
    /// recorded (split channels) and kept in the stack's bucket.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
    /// What a call the callee does not take leads to.
    #[serde(default)]
    pub missed_call: MissedCallMode,
    /// Longest a connected call may last, in seconds (at most 7200); `None`: as configured
    /// (`CALL_LIMIT_SECONDS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_seconds: Option<u32>,
    /// Both parties hear a warning this many seconds before `limit_seconds` cuts the call
    /// (an EventBridge Scheduler one-time schedule made when the callee answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_before_seconds: Option<u32>,
}

impl CallSettings {
    /// Whether the callee hears anything when they pick up, before the two are bridged: a
    /// whisper, the recording notice, or the prompt to take the call.
    pub fn on_answer(&self) -> bool {
        self.whisper.is_some() || self.whisper_accept || self.record
    }
}

/// What happens when the callee is busy, does not answer, rejects the call or cannot be
/// reached (PRODUCT.md, "Call settings").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissedCallMode {
    /// The caller is told the other person could not be reached and has been told; the callee
    /// gets an SMS from the number they would call back on.
    #[default]
    Message,
    /// As `message`, but the caller is asked to leave a message, which is recorded and kept
    /// like a recorded call (only in a conversation that allows recording).
    Voicemail,
    /// Nothing: the call ends as Vonage ends it.
    #[serde(rename = "none")]
    Silent,
}

impl MissedCallMode {
    /// Whether the connect reports its outcome synchronously, so a missed call can be followed
    /// up.
    pub fn follows_up(self) -> bool {
        self != Self::Silent
    }
}

/// A missed call its callee is to be told of by SMS, from the number they would call back on.
/// One is written per caller and conversation at most once in each quiet interval, so a caller
/// who tries again and again does not flood the callee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedCallNotice {
    pub conversation_id: ConversationId,
    /// Who called: the callee is the other participant.
    pub caller_index: u8,
    /// Vonage's id of the call.
    pub call_id: String,
    /// The callee's leg's last status (`busy`, `unanswered`, `rejected`, `failed`, `timeout`,
    /// `machine`), or `quiet_hours` for a call not put through in the callee's quiet hours.
    pub reason: CallStatus,
    /// Unix seconds.
    pub at: i64,
    /// Where the SMS stands.
    pub notification: Notification,
}

/// Which channels a conversation relays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Voice,
    Sms,
    #[default]
    VoiceAndSms,
}

impl Mode {
    pub fn voice(self) -> bool {
        self != Mode::Sms
    }
    pub fn sms(self) -> bool {
        self != Mode::Voice
    }
}

/// How `expires_at` moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpiryMode {
    /// Fixed at creation.
    #[default]
    Absolute,
    /// Each call pushes it to `ttl_seconds` after the call's latest event.
    Sliding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloseReason {
    /// `DELETE /conversations/{id}`.
    Closed,
    /// Its `expires_at` passed.
    Expired,
}

/// A sliding conversation's expiry moves at most once this often (and never back).
pub const SLIDE_STEP_SECONDS: i64 = 60;

impl Conversation {
    /// Where activity at `at` moves this conversation's expiry: `at + ttl_seconds` for a
    /// sliding one that is not closed, when that is at least [`SLIDE_STEP_SECONDS`] later than
    /// its expiry now; `None` otherwise.
    pub fn slid_expiry(&self, at: i64) -> Option<i64> {
        let pushed = at + self.ttl_seconds;
        (self.expiry_mode == ExpiryMode::Sliding
            && self.status != ConversationStatus::Closed
            && pushed >= self.expires_at + SLIDE_STEP_SECONDS)
            .then_some(pushed)
    }

    pub fn is_open_at(&self, now: i64) -> bool {
        self.status != ConversationStatus::Closed && now < self.expires_at
    }

    /// Its status as seen at `now`: closed once expired, whether or not the sweep has run.
    pub fn status_at(&self, now: i64) -> ConversationStatus {
        if self.is_open_at(now) {
            self.status
        } else {
            ConversationStatus::Closed
        }
    }

    /// This closed conversation open again from `now` for `ttl_seconds`, with the same
    /// participants and proxy numbers.
    pub fn reopened(&self, now: i64, ttl_seconds: i64) -> Self {
        Self {
            status: ConversationStatus::Active,
            expires_at: now + ttl_seconds,
            ttl_seconds,
            closed_at: None,
            close_reason: None,
            ..self.clone()
        }
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
    pub conversation_id: ConversationId,
    /// Index of the caller in the conversation's participants.
    pub caller_index: u8,
    /// The other participant's real number: where the call goes.
    pub callee: Msisdn,
    /// The other participant's proxy number: the caller ID the callee sees.
    pub callee_proxy: Msisdn,
    pub expires_at: i64,
    /// The conversation's channels: a call or a text on a channel it leaves out is refused.
    #[serde(default)]
    pub mode: Mode,
    /// The conversation's reference, for the intercept hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// Calls and texts on this route are put to the intercept hook first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intercept: bool,
    /// The announcement for this caller, placeholders filled; `None` on routes written before
    /// it was kept (the configured one is spoken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
    /// The caller's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The callee's label, for the configured announcement in the caller's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_label: Option<Label>,
    /// Whether the callee hears something when they pick up, before the two are bridged (a
    /// whisper, the recording notice, the prompt to take the call: see
    /// [`CallSettings::on_answer`]); what they hear is read from the conversation then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whisper: bool,
    /// The call is recorded: the caller is told first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
    /// What a call the callee does not take leads to.
    #[serde(default)]
    pub missed_call: MissedCallMode,
    /// The caller holds this proxy number in more than one open conversation: caller ID cannot
    /// tell which one a call or text is for, and the access code must.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ambiguous: bool,
    /// The callee's number is a landline: texts are not relayed to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callee_landline: bool,
    /// The conversation's call limit, in seconds; `None`: as configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_seconds: Option<u32>,
    /// The caller's label, for what the caller is told when the call is not connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_label: Option<Label>,
    /// The callee's quiet hours: a call inside them does not ring the callee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_quiet: Option<QuietWindow>,
}

impl Route {
    /// The callee's label, or the neutral word a text uses without one.
    pub fn callee_name(&self) -> &str {
        self.callee_label
            .as_ref()
            .map_or(NEUTRAL_NAME, Label::as_str)
    }

    fn between(c: &Conversation, index: u8, caller: &Participant, callee: &Participant) -> Self {
        Self {
            proxy_number: caller.proxy_number.clone(),
            caller: caller.number.clone(),
            conversation_id: c.id.clone(),
            caller_index: index,
            callee: callee.number.clone(),
            callee_proxy: callee.proxy_number.clone(),
            expires_at: c.expires_at,
            mode: c.mode,
            reference: c.reference.clone(),
            intercept: c.intercept,
            announcement: c
                .call
                .announcement
                .as_deref()
                .map(|text| spoken(text, c, caller, callee)),
            language: caller.language.clone(),
            callee_label: callee.label.clone(),
            whisper: c.call.on_answer(),
            record: c.call.record,
            missed_call: c.call.missed_call,
            ambiguous: caller.shared,
            callee_landline: !callee.takes_texts(),
            limit_seconds: c.call.limit_seconds,
            caller_label: caller.label.clone(),
            callee_quiet: callee.quiet_window(),
        }
    }

    /// Whether a call at unix second `now` falls in the callee's quiet hours.
    pub fn callee_quiet_at(&self, now: i64) -> bool {
        self.callee_quiet.as_ref().is_some_and(|q| q.covers(now))
    }

    /// A call setting's text for a call on this route (as [`spoken`] fills it from the
    /// conversation).
    pub fn spoken(&self, template: &str) -> String {
        fill(
            template,
            self.caller_label
                .as_ref()
                .map_or(NEUTRAL_NAME, Label::as_str),
            self.callee_name(),
            self.reference.as_ref(),
        )
    }
}

/// What a text calls a participant without a label.
pub const NEUTRAL_NAME: &str = "contact";

/// Most characters one spoken text may have (the NCCO schema's `talk.text`).
pub const MAX_SPOKEN_CHARS: usize = 1500;

/// A call setting's text for a call from `caller` to `callee` of `c`: `{caller}` and `{callee}`
/// are their labels (or a neutral word), `{reference}` the conversation's reference (or "your
/// conversation").
pub fn spoken(
    template: &str,
    c: &Conversation,
    caller: &Participant,
    callee: &Participant,
) -> String {
    fill(
        template,
        caller.display_name(),
        callee.display_name(),
        c.reference.as_ref(),
    )
}

/// `template` with `{caller}`, `{callee}` and `{reference}` (or "your conversation") filled.
fn fill(template: &str, caller: &str, callee: &str, reference: Option<&Reference>) -> String {
    template
        .replace("{caller}", caller)
        .replace("{callee}", callee)
        .replace(
            "{reference}",
            reference.map_or("your conversation", Reference::as_str),
        )
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
    pub country: Country,
    pub state: NumberState,
    /// Active conversations that use this number (for either participant).
    pub active_count: i64,
    pub added_at: i64,
    /// What the number can do (`VOICE`, `SMS`, `MMS`), as the Numbers API reported it; empty
    /// when it was added by hand without saying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
    /// `mobile-lvn`, `landline` or `landline-toll-free`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_type: Option<NumberType>,
    /// Set while callees answer this number clearly less than the rest of the pool (PRODUCT.md,
    /// "Number health"); with `QUARANTINE_FLAGGED` it gets no new assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_flag: Option<HealthFlag>,
    /// How its last flag ended, once one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_cleared: Option<HealthCleared>,
    /// The flagged number this one was rented to replace (kept from its pending record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replacing>,
    /// Where the number belongs within its country (the number check's `offline_location`,
    /// such as `California`), looked up when it was added; `None` when the check could not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A flagged number, and its flag, that a rented number replaces in service. Recorded on the
/// rented number's pending record before it is bought and carried into the pool with it, so a
/// flag is replaced once however often its `number.flagged` is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacing {
    pub number: Msisdn,
    /// When the flag it replaces was raised (unix seconds): a later flag is replaced again.
    pub flagged_at: i64,
}

/// Number health's rolling window, in days (today and the six before it, UTC): the store keeps
/// each day's tally until it has left the window.
pub const HEALTH_WINDOW_DAYS: i64 = 7;

/// Calls in which a proxy number was shown to the callee, and how many the callee answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub answered: u64,
    pub calls: u64,
}

impl Tally {
    /// The share answered; `None` with no calls.
    pub fn rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (self.calls > 0).then(|| self.answered as f64 / self.calls as f64)
    }

    /// What is left of `self` without `part` (the rest of the pool without one number).
    pub fn without(&self, part: &Tally) -> Tally {
        Tally {
            answered: self.answered.saturating_sub(part.answered),
            calls: self.calls.saturating_sub(part.calls),
        }
    }

    pub fn add(&mut self, other: &Tally) {
        self.answered += other.answered;
        self.calls += other.calls;
    }
}

/// Why a number was flagged: when, and the counts the test was run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthFlag {
    /// Unix seconds.
    pub at: i64,
    /// The number's calls over the window.
    pub number: Tally,
    /// The rest of the pool's calls over the same window.
    pub rest: Tally,
}

/// How a flag ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCleared {
    /// Unix seconds.
    pub at: i64,
    pub reason: ClearReason,
}

/// `recovered`: its answer rate is no longer clearly below the pool's; `cleared`: an operator
/// cleared it (`POST /numbers/{msisdn}/health/clear`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClearReason {
    Recovered,
    Cleared,
}

impl ClearReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Recovered => "recovered",
            Self::Cleared => "cleared",
        }
    }
}

impl PoolNumber {
    /// A number that is in the pool from now on, with nothing assigned to it yet.
    pub fn new(msisdn: Msisdn, country: Country, state: NumberState, now: i64) -> Self {
        Self {
            msisdn,
            country,
            state,
            active_count: 0,
            added_at: now,
            features: Vec::new(),
            number_type: None,
            health_flag: None,
            health_cleared: None,
            replaces: None,
            location: None,
        }
    }
}

/// How far the purchase of a number got. The account pays from the moment it is bought, so a
/// number is recorded before it is bought and finished later if a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingStage {
    /// About to be bought, or the purchase had no clear answer: whether the account owns it is
    /// checked before anything else.
    Buying,
    /// Bought, not yet linked to the application.
    Bought,
}

/// A number on its way into the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingNumber {
    pub msisdn: Msisdn,
    pub country: Country,
    pub stage: PendingStage,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<Feature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_type: Option<NumberType>,
    /// Unix seconds of the first attempt.
    pub since: i64,
    /// Why the last attempt stopped, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The flagged number it is rented to replace, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replacing>,
}

/// A (proxy number, participant) pair given back when a conversation closed. It is not given to
/// a conversation with anyone else before `free_at`, and it remembers the counterpart for
/// sticky assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreedPair {
    pub proxy_number: Msisdn,
    pub participant: Msisdn,
    /// Who the participant reached through this number.
    pub counterpart: Msisdn,
    pub conversation_id: ConversationId,
    /// Unix seconds: the end of the cool-off.
    pub free_at: i64,
}

/// Which leg of a call an event is about: the caller's inbound leg, or the outbound leg that
/// rings the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// One call-status event as Vonage sent it, kept on the conversation. Its key (call, leg,
/// status) makes a retried event overwrite itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Vonage's `conversation_uuid`: one per call, shared by its legs.
    pub call_id: String,
    /// Vonage's `uuid` of the leg.
    pub leg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// On the callee's leg: the proxy number their phone showed as caller ID (the callee's own
    /// proxy number), which number health counts the call against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_number: Option<Msisdn>,
    pub status: CallStatus,
    /// Unix milliseconds of Vonage's `timestamp`.
    pub at_ms: i64,
    /// Index of the participant who placed the call.
    pub caller_index: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How the call found its conversation.
    #[serde(default, skip_serializing_if = "RoutedBy::is_caller_id")]
    pub routed_by: RoutedBy,
    /// Who started the call: the caller dialling a proxy number, or the management API
    /// (click-to-call), whose caller's leg is kept as the caller's (`inbound`) leg although
    /// Vonage rang it.
    #[serde(default, skip_serializing_if = "InitiatedBy::is_caller")]
    pub initiated_by: InitiatedBy,
}

/// Who started a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiatedBy {
    /// The caller dialled their proxy number.
    #[default]
    Caller,
    /// `POST /conversations/{id}/calls`: Vonage rang the caller from their proxy number.
    Api,
}

impl InitiatedBy {
    pub fn is_caller(&self) -> bool {
        *self == Self::Caller
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Api => "api",
        }
    }
}

/// How a call found its conversation: the caller's number, or the access code they typed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutedBy {
    #[default]
    CallerId,
    Code,
}

impl RoutedBy {
    pub fn is_caller_id(&self) -> bool {
        *self == Self::CallerId
    }
}

/// A call through a conversation, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interaction {
    pub call_id: String,
    /// The caller's inbound leg, when its events have arrived.
    pub uuid: Option<String>,
    pub caller_index: u8,
    /// The furthest status reached: the callee's leg when there is one, else the caller's.
    pub status: CallStatus,
    /// Unix milliseconds of the first event.
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    /// Seconds connected (the callee's leg, else the caller's).
    pub duration: Option<i64>,
    /// EUR, the legs' prices added up.
    pub price: Option<String>,
    pub rate: Option<String>,
    /// Why the callee did not take it, when they did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<Missed>,
    /// Whether caller ID or an access code routed it.
    pub routed_by: RoutedBy,
    /// Whether the caller dialled it or the management API started it.
    pub initiated_by: InitiatedBy,
    /// Every status of every leg with its time, in order.
    pub statuses: Vec<StatusAt>,
}

/// A recording kept in the stack's bucket: a recorded call (both sides, split channels) or a
/// voicemail a caller left when the callee did not take the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecording {
    /// Vonage's `conversation_uuid` of the call.
    pub call_id: String,
    /// Vonage's `recording_uuid`.
    pub recording_id: String,
    pub kind: RecordingKind,
    /// Where it is in the bucket.
    pub key: String,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// When the recording started and ended, as Vonage says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Unix seconds it was stored.
    pub stored_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingKind {
    /// The bridged call.
    Call,
    /// A message the caller left.
    Voicemail,
}

/// Why a call was not taken, and whether the callee's phone rang first: `rejected` or `failed`
/// before ringing is a call that never reached them, `unanswered` or `timeout` after ringing one
/// they let ring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missed {
    /// `busy`, `unanswered`, `rejected`, `failed`, `timeout`, `machine` (a machine answered and
    /// was hung up on), or `cancelled` (the caller hung up first).
    pub reason: CallStatus,
    pub rang: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusAt {
    pub status: CallStatus,
    pub at_ms: i64,
    pub direction: Option<Direction>,
}

impl Interaction {
    /// Folds events (of any calls, in any order, repeats included) into one interaction per
    /// call, oldest first.
    pub fn fold(events: &[CallEvent]) -> Vec<Interaction> {
        let mut calls: Vec<Interaction> = Vec::new();
        let mut sorted: Vec<&CallEvent> = events.iter().collect();
        sorted.sort_by_key(|e| (e.at_ms, e.status.rank()));
        for call_id in sorted
            .iter()
            .map(|e| e.call_id.clone())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let mine: Vec<&CallEvent> = sorted
                .iter()
                .copied()
                .filter(|e| e.call_id == call_id)
                .collect();
            let outbound: Vec<&CallEvent> = mine
                .iter()
                .copied()
                .filter(|e| e.direction == Some(Direction::Outbound))
                .collect();
            let deciding = if outbound.is_empty() {
                &mine
            } else {
                &outbound
            };
            let last = deciding
                .iter()
                .max_by_key(|e| (e.status.rank(), e.at_ms))
                .copied();
            let terminal = deciding.iter().find(|e| e.status.rank() == 4);
            let answered = deciding.iter().find(|e| e.status == "answered");
            let prices: Vec<f64> = mine
                .iter()
                .filter(|e| e.status == "completed")
                .filter_map(|e| e.price.as_deref()?.parse::<f64>().ok())
                .collect();
            let Some(last) = last else { continue };
            calls.push(Interaction {
                call_id: call_id.clone(),
                uuid: mine
                    .iter()
                    .find(|e| e.direction == Some(Direction::Inbound))
                    .map(|e| e.leg.clone()),
                caller_index: last.caller_index,
                status: last.status.clone(),
                started_at_ms: mine.first().map(|e| e.at_ms).unwrap_or_default(),
                answered_at_ms: answered.map(|e| e.at_ms),
                ended_at_ms: terminal.map(|e| e.at_ms),
                duration: terminal.and_then(|e| e.duration),
                price: (!prices.is_empty()).then(|| format!("{:.8}", prices.iter().sum::<f64>())),
                rate: terminal.and_then(|e| e.rate.clone()),
                // A machine that answered was hung up on: missed, whatever followed.
                missed: deciding
                    .iter()
                    .find(|e| e.status == "machine")
                    .or(terminal.filter(|e| e.status.is_missed() && answered.is_none()))
                    .map(|e| Missed {
                        reason: e.status.clone(),
                        rang: e.status == "machine"
                            || deciding.iter().any(|e| e.status == "ringing"),
                    }),
                routed_by: if mine.iter().any(|e| e.routed_by == RoutedBy::Code) {
                    RoutedBy::Code
                } else {
                    RoutedBy::CallerId
                },
                initiated_by: if mine.iter().any(|e| e.initiated_by == InitiatedBy::Api) {
                    InitiatedBy::Api
                } else {
                    InitiatedBy::Caller
                },
                statuses: mine
                    .iter()
                    .map(|e| StatusAt {
                        status: e.status.clone(),
                        at_ms: e.at_ms,
                        direction: e.direction,
                    })
                    .collect(),
            });
        }
        calls.sort_by_key(|c| c.started_at_ms);
        calls
    }
}

/// The feature spellings the Numbers search accepts, in the order its spec lists them.
const FEATURE_SETS: [&str; 7] = [
    "SMS",
    "VOICE",
    "SMS,VOICE",
    "MMS",
    "SMS,MMS",
    "VOICE,MMS",
    "SMS,MMS,VOICE",
];

/// The spec's spelling of a set of features given in any order and case (`["voice", "sms"]` is
/// `SMS,VOICE`); `None` for an unknown or repeated feature.
pub fn features_param<S: AsRef<str>>(features: &[S]) -> Option<&'static str> {
    let mut wanted: Vec<String> = features
        .iter()
        .map(|f| f.as_ref().trim().to_ascii_uppercase())
        .collect();
    wanted.sort();
    FEATURE_SETS.into_iter().find(|set| {
        let mut have: Vec<&str> = set.split(',').collect();
        have.sort_unstable();
        have == wanted
    })
}

#[cfg(test)]
mod quiet_tests {
    use super::*;

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    fn at(t: &str) -> ClockTime {
        t.parse().unwrap()
    }

    #[test]
    fn a_window_runs_from_its_start_up_to_its_end_across_midnight_or_not() {
        let night = hours("22:00", "07:00");
        for inside in ["22:00", "23:59", "00:00", "03:00", "06:59"] {
            assert!(night.contains(&at(inside)), "{inside}");
        }
        for outside in ["21:59", "07:00", "12:00"] {
            assert!(!night.contains(&at(outside)), "{outside}");
        }
        let lunch = hours("12:00", "13:30");
        assert!(lunch.contains(&at("12:00")) && lunch.contains(&at("13:29")));
        assert!(!lunch.contains(&at("11:59")) && !lunch.contains(&at("13:30")));
    }

    #[test]
    fn a_window_is_kept_on_its_own_clock() {
        let window = |zone: &str| QuietWindow {
            hours: hours("22:00", "07:00"),
            time_zone: zone.parse().unwrap(),
        };
        // 2026-12-06T06:00Z: 22:00 in Los Angeles, 15:00 in Tokyo; a minute before, 21:59.
        let la_night = 1_796_536_800;
        assert!(window("America/Los_Angeles").covers(la_night));
        assert!(!window("America/Los_Angeles").covers(la_night - 60));
        assert!(!window("Asia/Tokyo").covers(la_night));
        // 2026-12-05T22:00Z: 07:00 in Tokyo, the window's end; a minute before, 06:59.
        let tokyo_morning = 1_796_508_000;
        assert!(!window("Asia/Tokyo").covers(tokyo_morning));
        assert!(window("Asia/Tokyo").covers(tokyo_morning - 60));
    }

    #[test]
    fn the_time_zone_given_wins_over_the_number_check_s() {
        let mut p = Participant {
            number: Msisdn::from_digits("447700900001").unwrap(),
            label: None,
            proxy_number: Msisdn::from_digits("447700900101").unwrap(),
            country: "GB".parse().unwrap(),
            notification: None,
            language: None,
            code: None,
            shared: false,
            checked: Checked::Vonage,
            facts: NumberFacts {
                time_zone: Some("Europe/London".into()),
                ..Default::default()
            },
            time_zone: None,
            quiet_hours: None,
        };
        assert_eq!(p.quiet_window(), None, "no quiet hours");
        p.quiet_hours = Some(hours("22:00", "07:00"));
        assert_eq!(
            p.quiet_window().unwrap().time_zone.as_str(),
            "Europe/London"
        );
        p.time_zone = Some("Europe/Madrid".parse().unwrap());
        assert_eq!(
            p.quiet_window().unwrap().time_zone.as_str(),
            "Europe/Madrid"
        );
        // A participant written before quiet hours were kept reads as it was.
        let old: Participant = serde_json::from_str(
            r#"{"number":"447700900001","proxy_number":"447700900101","country":"GB"}"#,
        )
        .unwrap();
        assert_eq!((old.time_zone, old.quiet_hours), (None, None));
    }
}
