//! The texts participants are sent and how texts are relayed.

use super::{AccessCodeConfig, ConfigError, ConversationConfig, Retention, Source, number, text};

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
}

impl NotifyConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let conversations = ConversationConfig::from_source(src)?;
        Ok(Self {
            template: conversations.notify_template,
            retention: conversations.retention,
            missed_call_template: text(
                src,
                "MISSED_CALL_SMS_TEMPLATE",
                "Your {caller} tried to call you. Call back on {proxy}.",
            ),
            give_up_after_seconds: number(src, "NOTIFY_RETRY_SECONDS", 900)?,
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
}

impl ExpiryConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let notify: bool = number(src, "EXPIRY_NOTIFY", false)?;
        Ok(Self {
            max_per_run: number(src, "EXPIRY_MAX_PER_RUN", 2000)?,
            concurrency: number(src, "EXPIRY_CONCURRENCY", 8)?,
            notify_template: notify.then(|| {
                text(
                    src,
                    "EXPIRY_SMS_TEMPLATE",
                    "Your conversation has ended. This number no longer reaches your {other}.",
                )
            }),
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
}

impl SmsConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let reply: bool = number(src, "SMS_UNKNOWN_REPLY", false)?;
        Ok(Self {
            unknown_reply: reply.then(|| {
                text(
                    src,
                    "SMS_UNKNOWN_REPLY_TEXT",
                    "This number is not in service.",
                )
            }),
            opt_out_reply: text(
                src,
                "SMS_OPT_OUT_TEXT",
                "You will get no more messages from this number. Reply START to receive them again.",
            ),
            opt_in_reply: text(
                src,
                "SMS_OPT_IN_TEXT",
                "You will receive messages from this number again.",
            ),
            retention: Retention::from_source(src)?,
            codes: AccessCodeConfig::from_source(src)?,
        })
    }
}
