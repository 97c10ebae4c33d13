//! What callers and callees hear and how a call behaves; what follows a missed call; where
//! recordings are kept.

use super::{ConfigError, DEFAULT_ANNOUNCEMENT, Source, number, optional, required, text};

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
        Ok(Self {
            announcement: text(src, "ANNOUNCEMENT_TEXT", DEFAULT_ANNOUNCEMENT),
            out_of_service: text(
                src,
                "OUT_OF_SERVICE_TEXT",
                "The number you have called is not in service.",
            ),
            unavailable: text(
                src,
                "UNAVAILABLE_TEXT",
                "We cannot connect your call right now. Please try again in a few minutes.",
            ),
            ring_timeout_seconds: number(src, "RING_TIMEOUT_SECONDS", 45)?,
            call_limit_seconds,
            public_base_url: optional(src, "PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            recording_notice: text(src, "RECORDING_NOTICE_TEXT", "This call is recorded."),
            accept_prompt: text(src, "WHISPER_ACCEPT_PROMPT", "Press 1 to take the call."),
            declined: text(
                src,
                "WHISPER_DECLINED_TEXT",
                "Sorry, your {callee} cannot take your call right now.",
            ),
        })
    }
}

/// What follows a call the callee did not take (the event webhook's part of it).
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
    /// Base URL of the webhooks (`PUBLIC_BASE_URL`), for the voicemail's recording; taken from
    /// the request when unset.
    pub public_base_url: Option<String>,
}

impl MissedCallConfig {
    const SPOKEN: &str =
        "Sorry, your {callee} could not take your call. We have let them know you called.";
    const QUIET_SECONDS: i64 = 600;
    const VOICEMAIL: &str =
        "Sorry, your {callee} could not take your call. Please leave a message after the tone.";

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            spoken: text(src, "MISSED_CALL_TEXT", Self::SPOKEN),
            quiet_seconds: number(src, "MISSED_CALL_SMS_INTERVAL_SECONDS", Self::QUIET_SECONDS)?,
            voicemail: text(src, "VOICEMAIL_TEXT", Self::VOICEMAIL),
            public_base_url: optional(src, "PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
        })
    }
}

impl Default for MissedCallConfig {
    fn default() -> Self {
        Self {
            spoken: Self::SPOKEN.to_owned(),
            quiet_seconds: Self::QUIET_SECONDS,
            voicemail: Self::VOICEMAIL.to_owned(),
            public_base_url: None,
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
