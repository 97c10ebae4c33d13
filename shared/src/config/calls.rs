//! What callers and callees hear and how a call behaves; what follows a missed call; where
//! recordings are kept.

use super::texts::Key;
use super::{ConfigError, Source, Texts, number, optional, required};

/// What a caller hears and how a connected call behaves.
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Played before connecting; empty leaves the `talk` out.
    pub announcement: String,
    /// Played to an unknown caller, or on a closed or expired conversation.
    pub out_of_service: String,
    /// Played when the store cannot be read.
    pub unavailable: String,
    pub ring_timeout_seconds: u32,
    pub call_limit_seconds: u32,
    /// Base URL of the webhooks (for the NCCO's `eventUrl`); derived from the request when unset.
    pub public_base_url: Option<String>,
    /// Told to each party, in their language, before a recorded call is recorded.
    pub recording_notice: String,
    /// Asks the callee to take the call, after the whisper (`whisper_accept`).
    pub accept_prompt: String,
    /// Told to the caller when the callee did not take the call at the prompt (`{callee}`).
    pub declined: String,
    /// Every text above in each language the catalogue has; the fields hold the default
    /// language's.
    pub texts: Texts,
    /// What follows a call not put through because the callee is in their quiet hours, as it
    /// follows a call the callee did not take.
    pub missed: MissedCallConfig,
}

impl CallConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let call_limit_seconds = number(src, "CALL_LIMIT_SECONDS", 3600)?;
        if call_limit_seconds > 7200 {
            return Err(ConfigError::Invalid {
                name: "CALL_LIMIT_SECONDS",
                reason: "Vonage allows at most 7200".into(),
            });
        }
        let texts = Texts::from_source(src)?;
        Ok(Self {
            announcement: texts.default_text(Key::Announcement).to_owned(),
            out_of_service: texts.default_text(Key::OutOfService).to_owned(),
            unavailable: texts.default_text(Key::Unavailable).to_owned(),
            ring_timeout_seconds: number(src, "RING_TIMEOUT_SECONDS", 45)?,
            call_limit_seconds,
            public_base_url: optional(src, "PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            recording_notice: texts.default_text(Key::RecordingNotice).to_owned(),
            accept_prompt: texts.default_text(Key::WhisperAccept).to_owned(),
            declined: texts.default_text(Key::WhisperDeclined).to_owned(),
            missed: MissedCallConfig::with_texts(src, &texts)?,
            texts,
        })
    }
}

/// What follows a call the callee did not take, or that their quiet hours kept from them (the
/// event webhook's part of it, and the answer webhook's).
#[derive(Debug, Clone)]
pub struct MissedCallConfig {
    /// Spoken to the caller in their language (`{callee}`, the callee's label), as
    /// `MISSED_CALL_TEXT` sets it.
    pub spoken: String,
    /// A callee is texted about one caller's missed calls at most once in this many seconds
    /// (`MISSED_CALL_SMS_INTERVAL_SECONDS`, default 600).
    pub quiet_seconds: i64,
    /// Asks the caller to leave a message, in their language (`{callee}`), as
    /// `VOICEMAIL_TEXT` sets it.
    pub voicemail: String,
    /// Told to a caller whose callee is in their quiet hours, in their language (`{callee}`), as
    /// `QUIET_HOURS_TEXT` sets it.
    pub quiet_hours: String,
    /// Base URL of the webhooks (`PUBLIC_BASE_URL`), for the voicemail's recording; taken from
    /// the request when unset.
    pub public_base_url: Option<String>,
    /// These texts in each language the catalogue has.
    pub texts: Texts,
}

impl MissedCallConfig {
    const QUIET_SECONDS: i64 = 600;

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::with_texts(src, &Texts::from_source(src)?)
    }

    /// The settings, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Self, ConfigError> {
        let texts = texts.clone();
        Ok(Self {
            spoken: texts.default_text(Key::MissedCall).to_owned(),
            quiet_seconds: number(src, "MISSED_CALL_SMS_INTERVAL_SECONDS", Self::QUIET_SECONDS)?,
            voicemail: texts.default_text(Key::Voicemail).to_owned(),
            quiet_hours: texts.default_text(Key::QuietHours).to_owned(),
            public_base_url: optional(src, "PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            texts,
        })
    }
}

impl Default for MissedCallConfig {
    /// The built-in English texts alone.
    fn default() -> Self {
        let texts = Texts::default();
        Self {
            spoken: texts.default_text(Key::MissedCall).to_owned(),
            quiet_seconds: Self::QUIET_SECONDS,
            voicemail: texts.default_text(Key::Voicemail).to_owned(),
            quiet_hours: texts.default_text(Key::QuietHours).to_owned(),
            public_base_url: None,
            texts,
        }
    }
}

/// Where recordings are kept.
#[derive(Debug, Clone)]
pub struct RecordingConfig {
    /// `RECORDINGS_BUCKET`: the stack's bucket.
    pub bucket: String,
    /// Address the bucket by path: a local stand-in (`AWS_ENDPOINT_URL_S3` set) has no
    /// per-bucket host names.
    pub path_style: bool,
    /// How long a link to a recording works (`RECORDING_LINK_SECONDS`, at most a week).
    pub link_seconds: u64,
}

impl RecordingConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let link_seconds = number(src, "RECORDING_LINK_SECONDS", 300u64)?;
        if !(1..=7 * 24 * 3600).contains(&link_seconds) {
            return Err(ConfigError::Invalid {
                name: "RECORDING_LINK_SECONDS",
                reason: "must lie between 1 and 604800".into(),
            });
        }
        Ok(Self {
            bucket: required(src, "RECORDINGS_BUCKET")?,
            path_style: optional(src, "AWS_ENDPOINT_URL_S3").is_some(),
            link_seconds,
        })
    }
}

/// Where a call's warning before its limit is scheduled (`CALL_WARNING_SCHEDULE_GROUP`,
/// `CALL_WARNING_FUNCTION_ARN`, `CALL_WARNING_ROLE_ARN`): an EventBridge Scheduler group, the
/// function its one-time schedules invoke, and the role Scheduler assumes to invoke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningConfig {
    pub group: String,
    pub target_arn: String,
    pub role_arn: String,
}

impl WarningConfig {
    /// The three settings, or `None` when none is set (no warnings are scheduled); some set
    /// without the others are refused.
    pub fn from_source(src: &dyn Source) -> Result<Option<Self>, ConfigError> {
        let names = [
            "CALL_WARNING_SCHEDULE_GROUP",
            "CALL_WARNING_FUNCTION_ARN",
            "CALL_WARNING_ROLE_ARN",
        ];
        let values = names.map(|n| optional(src, n));
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let [group, target_arn, role_arn] = names.map(|n| required(src, n));
        Ok(Some(Self {
            group: group?,
            target_arn: target_arn?,
            role_arn: role_arn?,
        }))
    }
}
