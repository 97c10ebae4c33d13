//! `POST /conversations`: the request read and checked; the creation itself is the domain's
//! (`shared::domain::conversation::create`).

use serde::Deserialize;
use shared::domain::conversation::{self, Created, NewConversation};
use shared::model::{CallSettings, ExpiryMode, MAX_SPOKEN_CHARS, MissedCallMode, Mode, QuietHours};
use shared::phone::Msisdn;
use shared::ports::{Conversations, InsightCache, Leases, NumberChecker, NumberInventory, Pool};
use shared::problem::ApiError;
use shared::values::{ClockTime, Label, Language, Reference, TimeZone};

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
    /// What callers and callees hear; each setting left out takes the configured default.
    #[serde(default)]
    pub call: Option<CallRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// Spoken to the caller before connecting (`{callee}`); empty for none.
    #[serde(default)]
    pub announcement: Option<String>,
    /// Spoken to the callee when they pick up (`{caller}`, `{reference}`); empty for none.
    #[serde(default)]
    pub whisper: Option<String>,
    /// The callee presses 1 to take the call.
    #[serde(default)]
    pub whisper_accept: Option<bool>,
    /// Both parties are told, and the bridged call is recorded.
    #[serde(default)]
    pub record: Option<bool>,
    /// `message`, `voicemail` (with `record`) or `none`: what a call the callee does not take
    /// leads to.
    #[serde(default)]
    pub missed_call: Option<MissedCallMode>,
    /// Longest a connected call may last, in seconds (1 to 7200); by default
    /// `CALL_LIMIT_SECONDS`.
    #[serde(default)]
    pub limit_seconds: Option<u32>,
    /// Both parties are warned this many seconds before `limit_seconds` cuts the call
    /// (0 < warn < limit; it needs `limit_seconds`).
    #[serde(default)]
    pub warn_before_seconds: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantRequest {
    pub number: String,
    #[serde(default)]
    pub label: Option<String>,
    /// A BCP 47 tag from the NCCO schema's list; by default, their country's language.
    #[serde(default)]
    pub language: Option<String>,
    /// Their time zone (tz database name); by default, the number check's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When calls do not ring them, on their clock.
    #[serde(default)]
    pub quiet_hours: Option<QuietHoursRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursRequest {
    /// `HH:MM`, 24-hour clock.
    pub start: String,
    /// `HH:MM`, 24-hour clock; before `start` for a window across midnight.
    pub end: String,
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
    let languages = [
        check_language(0, a.language)?,
        check_language(1, b.language)?,
    ];
    let time_zones = [
        check_time_zone(0, a.time_zone)?,
        check_time_zone(1, b.time_zone)?,
    ];
    let quiet_hours = [
        check_quiet_hours(0, a.quiet_hours)?,
        check_quiet_hours(1, b.quiet_hours)?,
    ];
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
        languages,
        time_zones,
        quiet_hours,
        call: call_settings(&settings.call_defaults, req.call.unwrap_or_default())?,
    })
}

fn check_language(index: usize, language: Option<String>) -> Result<Option<Language>, ApiError> {
    language
        .map(|l| l.parse::<Language>())
        .transpose()
        .map_err(|e| {
            ApiError::InvalidRequest(format!("participants[{index}].language must be {e}"))
        })
}

fn check_time_zone(index: usize, zone: Option<String>) -> Result<Option<TimeZone>, ApiError> {
    zone.map(|z| z.trim().parse::<TimeZone>())
        .transpose()
        .map_err(|e| {
            ApiError::InvalidRequest(format!("participants[{index}].time_zone must be {e}"))
        })
}

/// Quiet hours: two times of day on a 24-hour clock, not the same (a window may cross
/// midnight); whether a time zone is known for them is the creation's to say, once the number
/// check has answered.
fn check_quiet_hours(
    index: usize,
    asked: Option<QuietHoursRequest>,
) -> Result<Option<QuietHours>, ApiError> {
    let Some(asked) = asked else {
        return Ok(None);
    };
    let time = |name: &str, t: &str| {
        t.parse::<ClockTime>().map_err(|e| {
            ApiError::InvalidRequest(format!(
                "participants[{index}].quiet_hours.{name} must be {e}"
            ))
        })
    };
    let (start, end) = (time("start", &asked.start)?, time("end", &asked.end)?);
    if start == end {
        return Err(ApiError::InvalidRequest(format!(
            "participants[{index}].quiet_hours.start and end must differ"
        )));
    }
    Ok(Some(QuietHours { start, end }))
}

/// The call settings asked for, each left out taken from `defaults`; a text may use only its
/// own placeholders and must fit a spoken text.
fn call_settings(defaults: &CallSettings, asked: CallRequest) -> Result<CallSettings, ApiError> {
    let text = |name: &str, asked: Option<String>, default: &Option<String>, allowed: &[&str]| {
        let Some(text) = asked else {
            return Ok(default.clone());
        };
        let text = text.trim().to_owned();
        if text.chars().count() > MAX_SPOKEN_CHARS {
            return Err(ApiError::InvalidRequest(format!(
                "call.{name} has at most {MAX_SPOKEN_CHARS} characters"
            )));
        }
        if let Some(unknown) = unknown_placeholder(&text, allowed) {
            return Err(ApiError::InvalidRequest(format!(
                "call.{name} may use {} but not {unknown}",
                allowed.join(" and ")
            )));
        }
        Ok(Some(text))
    };
    let record = asked.record.unwrap_or(defaults.record);
    let missed_call = asked.missed_call.unwrap_or(defaults.missed_call);
    if missed_call == MissedCallMode::Voicemail && !record {
        return Err(ApiError::InvalidRequest(
            "call.missed_call voicemail records the caller's message: it needs call.record true"
                .into(),
        ));
    }
    let limit_seconds = asked.limit_seconds.or(defaults.limit_seconds);
    if limit_seconds.is_some_and(|l| !(1..=7200).contains(&l)) {
        return Err(ApiError::InvalidRequest(
            "call.limit_seconds is 1 to 7200: Vonage cuts a call at two hours".into(),
        ));
    }
    let warn_before_seconds = asked.warn_before_seconds.or(defaults.warn_before_seconds);
    if let Some(warn) = warn_before_seconds {
        match limit_seconds {
            None => {
                return Err(ApiError::InvalidRequest(
                    "call.warn_before_seconds warns before call.limit_seconds: it needs it".into(),
                ));
            }
            Some(limit) if warn == 0 || warn >= limit => {
                return Err(ApiError::InvalidRequest(format!(
                    "call.warn_before_seconds is more than 0 and less than call.limit_seconds ({limit})"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(CallSettings {
        announcement: text(
            "announcement",
            asked.announcement,
            &defaults.announcement,
            &["{callee}"],
        )?,
        whisper: text(
            "whisper",
            asked.whisper,
            &defaults.whisper,
            &["{caller}", "{reference}"],
        )?
        .filter(|w| !w.is_empty()),
        whisper_accept: asked.whisper_accept.unwrap_or(defaults.whisper_accept),
        record,
        missed_call,
        limit_seconds,
        warn_before_seconds,
    })
}

/// The first `{...}` in `text` that is not one of `allowed`.
fn unknown_placeholder(text: &str, allowed: &[&str]) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Some(rest[start..].to_owned());
        };
        let placeholder = &rest[start..=start + len];
        if !allowed.contains(&placeholder) {
            return Some(placeholder.to_owned());
        }
        rest = &rest[start + len + 1..];
    }
    None
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
pub async fn create<S, V, C>(deps: &Deps<S, V, C>, req: CreateRequest) -> Result<Answer, ApiError>
where
    S: Conversations + Pool + Leases + InsightCache,
    V: NumberChecker + NumberInventory,
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
