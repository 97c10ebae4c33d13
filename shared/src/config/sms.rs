//! The texts participants are sent and how texts are relayed.

use super::texts::Key;
use super::{AccessCodeConfig, ConfigError, ConversationConfig, Retention, Source, Texts, number};

/// The notification SMS, sent from the table's change stream.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The text (`{other}`, `{proxy}`, `{expires}`), as `NOTIFY_SMS_TEMPLATE` sets it.
    pub template: String,
    /// The SMS a callee gets after a call they did not take (`{caller}`, the caller's label;
    /// `{proxy}`, the number they call back on; `{reference}`), as `MISSED_CALL_SMS_TEMPLATE`
    /// sets it.
    pub missed_call_template: String,
    /// A text that Vonage cannot take for a while (an outage, throttling) is retried until this
    /// many seconds after the conversation was created, then recorded as failed.
    pub give_up_after_seconds: i64,
    /// How long a conversation's records (its texts' delivery states among them) are kept after
    /// it ends (`RETENTION_DAYS`).
    pub retention: Retention,
    /// Both texts, and the access code's hint, in each language the catalogue has.
    pub texts: Texts,
}

impl NotifyConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::with_texts(src, &Texts::from_source(src)?)
    }

    /// The settings, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Self, ConfigError> {
        let conversations = ConversationConfig::with_texts(src, texts)?;
        let texts = texts.clone();
        Ok(Self {
            template: conversations.notify_template,
            retention: conversations.retention,
            missed_call_template: texts.default_text(Key::MissedCallSms).to_owned(),
            give_up_after_seconds: number(src, "NOTIFY_RETRY_SECONDS", 900)?,
            texts,
        })
    }
}

/// The expiry sweep.
#[derive(Debug, Clone)]
pub struct ExpiryConfig {
    pub max_per_run: usize,
    pub concurrency: usize,
    /// The SMS each participant gets when a conversation expires; `None` (the default) sends none.
    pub notify_template: Option<String>,
    /// The text in each language the catalogue has.
    pub texts: Texts,
}

impl ExpiryConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::with_texts(src, &Texts::from_source(src)?)
    }

    /// The settings, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Self, ConfigError> {
        let notify: bool = number(src, "EXPIRY_NOTIFY", false)?;
        let texts = texts.clone();
        Ok(Self {
            max_per_run: number(src, "EXPIRY_MAX_PER_RUN", 2000)?,
            concurrency: number(src, "EXPIRY_CONCURRENCY", 8)?,
            notify_template: notify.then(|| texts.default_text(Key::ExpirySms).to_owned()),
            texts,
        })
    }
}

/// How texts are relayed.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// Sent (at most once an hour per sender and number) to someone texting a proxy number that
    /// has nothing for them; `None` (the default) sends nothing.
    pub unknown_reply: Option<String>,
    /// Sent once when a participant opts out.
    pub opt_out_reply: String,
    /// Sent when they opt back in.
    pub opt_in_reply: String,
    /// How long a relayed message's record is kept after the conversation's expiry.
    pub retention: Retention,
    /// Access codes, when on: a text on a number its sender shares starts with the code.
    pub codes: Option<AccessCodeConfig>,
    /// The replies in each language the catalogue has.
    pub texts: Texts,
}

impl SmsConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::with_texts(src, &Texts::from_source(src)?)
    }

    /// The settings, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Self, ConfigError> {
        let reply: bool = number(src, "SMS_UNKNOWN_REPLY", false)?;
        let texts = texts.clone();
        Ok(Self {
            unknown_reply: reply.then(|| texts.default_text(Key::SmsUnknownReply).to_owned()),
            opt_out_reply: texts.default_text(Key::SmsOptOut).to_owned(),
            opt_in_reply: texts.default_text(Key::SmsOptIn).to_owned(),
            retention: Retention::from_source(src)?,
            codes: AccessCodeConfig::with_texts(src, &texts)?,
            texts,
        })
    }
}
