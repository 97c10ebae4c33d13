//! Typed configuration, read once per execution environment from the process environment.
//! Every setting and its default is listed in the README.

use crate::values::NumberType;
use std::time::Duration;

use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Credentials and base URLs of the Vonage APIs the product calls.
#[derive(Debug, Clone)]
pub struct VonageConfig {
    pub api_key: String,
    pub api_secret: SecretString,
    pub number_insight_url: String,
    /// `NUMBER_CHECK`: how a new participant's number is checked.
    pub number_check: NumberCheckMode,
    /// `VONAGE_IDENTITY_INSIGHTS_URL`: `identity-insights.yml`'s base URL.
    pub identity_insights_url: String,
    /// `MESSAGING_API`: which API texts go out through, and which webhooks bring them in.
    pub messaging: MessagingApi,
    /// `VONAGE_MESSAGES_URL`: `messages-v1-sms.yml`'s base URL.
    pub messages_url: String,
    /// `PUBLIC_BASE_URL`: where the stack's webhooks are, for what the SMS API is told per
    /// number (`moHttpUrl`) and per text (its delivery receipt's `callback`). Unset: nothing is
    /// told, and the account's own settings apply.
    pub public_base_url: Option<String>,
    pub sms_url: String,
    pub numbers_url: String,
    /// The Application API (`VONAGE_APPLICATIONS_URL`).
    pub applications_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
}

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

/// How conversations are created.
#[derive(Debug, Clone)]
pub struct ConversationConfig {
    pub default_ttl_seconds: u64,
    pub min_ttl_seconds: u64,
    pub max_ttl_seconds: u64,
    /// How long a closed conversation is kept before DynamoDB's TTL removes it.
    pub retention_seconds: i64,
    /// The SMS each participant receives; `{other}` is the other participant's label, `{proxy}`
    /// the number to call (with `+`), `{expires}` the expiry time.
    pub notify_template: String,
    /// How long a (proxy number, participant) pair stays out of new conversations with someone
    /// else after its conversation closed.
    pub cool_off_seconds: i64,
    /// Give a participant the proxy number they had before with the same counterpart, when
    /// they may have it.
    pub sticky: bool,
    /// Rent a number when the pool has none to give; `None` (the default) answers
    /// `pool_exhausted` instead.
    pub auto_rent: Option<AutoRent>,
    /// How long Number Insight's answer for a valid number is kept and used instead of a new
    /// lookup; `0` looks every number up every time.
    pub insight_keep_seconds: i64,
    /// The call settings of a conversation whose request leaves them out: `ANNOUNCEMENT_TEXT`
    /// (the one the answer webhook speaks on conversations from before settings were kept) and
    /// `WHISPER_TEXT` (unset: no whisper).
    pub call_defaults: crate::model::CallSettings,
    /// Access codes of this many digits (`ACCESS_CODES`, `ACCESS_CODE_DIGITS`); `None` (the
    /// default) gives no codes and never shares a number.
    pub access_codes: Option<u8>,
}

/// Access codes (PRODUCT.md, "Access codes"): on when `ACCESS_CODES` is, with what callers are
/// told and how many wrong codes they may type.
#[derive(Debug, Clone)]
pub struct AccessCodeConfig {
    /// `ACCESS_CODE_DIGITS`, 3 to 8.
    pub digits: u8,
    /// `ACCESS_CODE_RETRIES`: wrong codes a call may follow with another try before it ends.
    pub retries: u8,
    /// `ACCESS_CODE_MAX_FAILURES`: wrong codes on one number after which the caller is locked
    /// out of codes on it.
    pub max_failures: u32,
    /// `ACCESS_CODE_LOCKOUT_SECONDS`: how long after their last wrong code.
    pub lockout_seconds: i64,
    /// What one proxy number may spend on typed codes in a day (UTC), in codes: each code
    /// typed spends as many as the number has live codes, its chance of being right in codes
    /// of its length. `10^digits / (ACCESS_CODE_GUESS_ODDS + 1)`, so that a stranger reaches a
    /// participant by guessing with a chance of at most 1 in `ACCESS_CODE_GUESS_ODDS` (1,000)
    /// per number per day, however many caller IDs they use (README, "Access codes").
    pub daily_budget: i64,
    /// `ACCESS_CODE_PROMPT`: asks for the code.
    pub prompt: String,
    /// `ACCESS_CODE_RETRY_TEXT`: after a wrong code, before the prompt again.
    pub retry: String,
    /// `ACCESS_CODE_REFUSED_TEXT`: after the last wrong code; the call ends.
    pub refused: String,
    /// `ACCESS_CODE_LOCKED_TEXT`: to a caller locked out; the call ends.
    pub locked: String,
    /// `ACCESS_CODE_SMS_REPLY`: to a participant texting a number they share without a code in
    /// front; `{code}` is not filled (they may hold several), `{digits}` is the code's length,
    /// `{example}` a code of that length.
    pub sms_reply: String,
}

impl AccessCodeConfig {
    /// The settings when `ACCESS_CODES` is on, `None` when it is off.
    pub fn from_source(src: &dyn Source) -> Result<Option<Self>, ConfigError> {
        let Some(digits) = access_code_digits(src)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            digits,
            retries: number(src, "ACCESS_CODE_RETRIES", 2)?,
            max_failures: number::<u32>(src, "ACCESS_CODE_MAX_FAILURES", 6)?.max(1),
            lockout_seconds: number::<i64>(src, "ACCESS_CODE_LOCKOUT_SECONDS", 3600)?.max(1),
            daily_budget: 10_i64.pow(u32::from(digits))
                / (number::<i64>(src, "ACCESS_CODE_GUESS_ODDS", 1000)?.max(1) + 1),
            prompt: text(
                src,
                "ACCESS_CODE_PROMPT",
                "Please enter your access code, then press hash.",
            ),
            retry: text(src, "ACCESS_CODE_RETRY_TEXT", "That code is not right."),
            refused: text(
                src,
                "ACCESS_CODE_REFUSED_TEXT",
                "Sorry, that code is not right. Please check the code in your text message and call again. Goodbye.",
            ),
            locked: text(
                src,
                "ACCESS_CODE_LOCKED_TEXT",
                "Too many wrong codes were entered from your phone. Please try again later. Goodbye.",
            ),
            sms_reply: text(
                src,
                "ACCESS_CODE_SMS_REPLY",
                "This number serves more than one of your conversations. Start your text with the {digits}-digit code of the conversation it is for, as in: {example} Hello.",
            ),
        }))
    }
}

/// `ACCESS_CODES` (off by default) and `ACCESS_CODE_DIGITS` (6): the length of codes when on.
fn access_code_digits(src: &dyn Source) -> Result<Option<u8>, ConfigError> {
    if !number(src, "ACCESS_CODES", false)? {
        return Ok(None);
    }
    let digits: u8 = number(src, "ACCESS_CODE_DIGITS", 6)?;
    if !crate::values::ACCESS_CODE_LENGTHS.contains(&digits) {
        return Err(ConfigError::Invalid {
            name: "ACCESS_CODE_DIGITS",
            reason: "must be 3 to 8".into(),
        });
    }
    Ok(Some(digits))
}

/// Renting numbers on the fly when the pool runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRent {
    /// The pool never grows past this many numbers (not retired) in one country.
    pub max_per_country: usize,
    /// The spec's spelling, such as `SMS,VOICE`.
    pub features: &'static str,
    /// `mobile-lvn`, `landline` or `landline-toll-free`; any when unset.
    pub number_type: Option<NumberType>,
}

fn auto_rent(src: &dyn Source) -> Result<Option<AutoRent>, ConfigError> {
    if !number(src, "AUTO_RENT", false)? {
        return Ok(None);
    }
    let features = text(src, "AUTO_RENT_FEATURES", "SMS,VOICE");
    let listed: Vec<&str> = features.split(',').collect();
    let features = crate::model::features_param(&listed).ok_or(ConfigError::Invalid {
        name: "AUTO_RENT_FEATURES",
        reason: format!("{features} is not a set of SMS, VOICE and MMS"),
    })?;
    let number_type = optional(src, "AUTO_RENT_TYPE")
        .map(|t| {
            t.parse::<NumberType>().map_err(|e| ConfigError::Invalid {
                name: "AUTO_RENT_TYPE",
                reason: format!("{t} is not {e}"),
            })
        })
        .transpose()?;
    Ok(Some(AutoRent {
        max_per_country: number(src, "AUTO_RENT_MAX_PER_COUNTRY", 5)?,
        features,
        number_type,
    }))
}

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
    pub retention_seconds: i64,
}

impl NotifyConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let conversations = ConversationConfig::from_source(src)?;
        Ok(Self {
            template: conversations.notify_template,
            retention_seconds: conversations.retention_seconds,
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

/// The Voice API and the recordings Vonage keeps, reached with the application's JWT.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// `VONAGE_VOICE_URL`: `voice.yml`'s base URL.
    pub voice_url: String,
    /// `VONAGE_FILES_URL`: where recordings are fetched from (any `https://*.nexmo.com/v1/files/`
    /// URL is fetched too).
    pub files_url: String,
    pub application_id: String,
    /// The application's private key, PEM.
    pub private_key: SecretString,
    pub timeout: Duration,
    pub max_retries: u32,
    /// `RECORDING_MAX_BYTES`: the largest recording fetched; a larger one is not kept.
    pub max_recording_bytes: u64,
}

/// 64 MiB: over four hours of a two-channel MP3 recording.
pub const DEFAULT_MAX_RECORDING_BYTES: u64 = 64 * 1024 * 1024;

pub const DEFAULT_VOICE_URL: &str = "https://api.nexmo.com/v1/calls";
pub const DEFAULT_FILES_URL: &str = "https://api.nexmo.com/v1/files";

impl VoiceConfig {
    /// The settings, with the application's id and private key resolved by [`crate::secrets`].
    pub fn from_source(
        src: &dyn Source,
        application_id: String,
        private_key: SecretString,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            voice_url: base_url(src, "VONAGE_VOICE_URL", DEFAULT_VOICE_URL),
            files_url: base_url(src, "VONAGE_FILES_URL", DEFAULT_FILES_URL),
            application_id,
            private_key,
            timeout: Duration::from_millis(number(src, "VONAGE_TIMEOUT_MS", 3000)?),
            max_retries: number(src, "VONAGE_MAX_RETRIES", 2)?,
            max_recording_bytes: number(src, "RECORDING_MAX_BYTES", DEFAULT_MAX_RECORDING_BYTES)?,
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

/// Time budgets and retries for every DynamoDB and Secrets Manager request a function makes, so
/// that a slow, hung or throttling store ends a request with an answer instead of a Lambda
/// timeout. `STORE_TIMEOUT_MS` bounds one operation with its retries, `STORE_ATTEMPT_TIMEOUT_MS`
/// one attempt, `STORE_CONNECT_TIMEOUT_MS` a new connection; `STORE_MAX_ATTEMPTS` counts the
/// first try. The template sets tighter values for the answer webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsBudget {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

impl AwsBudget {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let ms = |name, default| number(src, name, default).map(Duration::from_millis);
        let budget = Self {
            connect: ms("STORE_CONNECT_TIMEOUT_MS", 1000)?,
            attempt: ms("STORE_ATTEMPT_TIMEOUT_MS", 1000)?,
            operation: ms("STORE_TIMEOUT_MS", 2500)?,
            max_attempts: number(src, "STORE_MAX_ATTEMPTS", 3)?,
        };
        if budget.attempt > budget.operation || budget.attempt.is_zero() {
            return Err(ConfigError::Invalid {
                name: "STORE_ATTEMPT_TIMEOUT_MS",
                reason: "must be more than 0 and at most STORE_TIMEOUT_MS".into(),
            });
        }
        if budget.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: "STORE_MAX_ATTEMPTS",
                reason: "counts the first try, so it is at least 1".into(),
            });
        }
        Ok(budget)
    }
}

/// How long one request may take before the function answers on its own: the answer webhook's
/// safe NCCO, or a management API's `503`. `REQUEST_TIMEOUT_MS` when set, else `default`; in
/// Lambda it is also kept a margin inside the invocation's own deadline.
pub fn request_timeout(src: &dyn Source, default: Duration) -> Result<Duration, ConfigError> {
    number(src, "REQUEST_TIMEOUT_MS", default.as_millis() as u64).map(Duration::from_millis)
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
    pub retention_seconds: i64,
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
            retention_seconds: number::<i64>(src, "RETENTION_DAYS", 30)? * 24 * 3600,
            codes: AccessCodeConfig::from_source(src)?,
        })
    }
}

/// How a new participant's number is checked (`NUMBER_CHECK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberCheckMode {
    /// Identity Insights, with the application's JWT (the default).
    IdentityInsights,
    /// Number Insight basic, for accounts that still have it (it stops on 4 February 2027).
    NumberInsight,
    /// libphonenumber alone: no Vonage request.
    Local,
}

impl NumberCheckMode {
    /// `identity-insights` (also when unset), `number-insight` or `local`.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        match optional(src, "NUMBER_CHECK").map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Self::IdentityInsights),
            Some(v) if v == "identity-insights" => Ok(Self::IdentityInsights),
            Some(v) if v == "number-insight" => Ok(Self::NumberInsight),
            Some(v) if v == "local" => Ok(Self::Local),
            Some(v) => Err(ConfigError::Invalid {
                name: "NUMBER_CHECK",
                reason: format!("{v} is none of identity-insights, number-insight, local"),
            }),
        }
    }
}

/// Which Vonage API texts go through (`MESSAGING_API`), as the account's "Messaging API Type"
/// setting says where its inbound texts and statuses are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagingApi {
    /// The Messages API (the default, and new accounts' default): texts sent with the
    /// application's JWT; inbound texts and statuses at the application's `messages` webhooks.
    Messages,
    /// The SMS API, for accounts set to it: inbound texts at each number's `moHttpUrl`,
    /// delivery receipts at each text's `callback`.
    Sms,
}

impl MessagingApi {
    /// `messages` (also when unset) or `sms`.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        match optional(src, "MESSAGING_API").map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Self::Messages),
            Some(v) if v == "messages" => Ok(Self::Messages),
            Some(v) if v == "sms" => Ok(Self::Sms),
            Some(v) => Err(ConfigError::Invalid {
                name: "MESSAGING_API",
                reason: format!("{v} is neither messages nor sms"),
            }),
        }
    }
}

/// Which HTTP methods the answer, fallback and event webhooks take (`WEBHOOK_METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMethods {
    /// `POST` only (the deployed stack): a signed request's `payload_hash` covers its body, so
    /// every field that routes a call (`to`, `from`) is signed. A `GET` carries them in the query
    /// string, which the signature does not cover.
    Post,
    /// `GET` or `POST` (local work).
    Any,
}

impl WebhookMethods {
    /// `post` (also when unset) or `any`.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        match optional(src, "WEBHOOK_METHODS").map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Self::Post),
            Some(v) if v == "post" => Ok(Self::Post),
            Some(v) if v == "any" => Ok(Self::Any),
            Some(v) => Err(ConfigError::Invalid {
                name: "WEBHOOK_METHODS",
                reason: format!("{v} is neither post nor any"),
            }),
        }
    }

    pub fn allows(self, method: &str) -> bool {
        match self {
            Self::Post => method == "POST",
            Self::Any => matches!(method, "GET" | "POST"),
        }
    }
}

/// The marketplace backend's hooks: where they are and how long one call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// `OUT_OF_SESSION_URL`: asked about calls and texts no open conversation takes.
    pub out_of_session_url: Option<String>,
    /// `INTERCEPT_URL`: asked before a call or text of a conversation created with
    /// `"intercept": true` goes through.
    pub intercept_url: Option<String>,
    /// `HOOK_TIMEOUT_MS`: one hook call's budget.
    pub timeout: Duration,
}

impl HookConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let timeout = number(src, "HOOK_TIMEOUT_MS", 1500u64)?;
        if !(1..=10_000).contains(&timeout) {
            return Err(ConfigError::Invalid {
                name: "HOOK_TIMEOUT_MS",
                reason: "must lie between 1 and 10000".into(),
            });
        }
        Ok(Self {
            out_of_session_url: hook_url(src, "OUT_OF_SESSION_URL")?,
            intercept_url: hook_url(src, "INTERCEPT_URL")?,
            timeout: Duration::from_millis(timeout),
        })
    }

    pub fn any(&self) -> bool {
        self.out_of_session_url.is_some() || self.intercept_url.is_some()
    }
}

/// A hook's URL: `https`, or plain `http` only to a loopback address (local work and tests),
/// so that a hook request, which names a caller's real number, never crosses a network in clear.
fn hook_url(src: &dyn Source, name: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(raw) = optional(src, name) else {
        return Ok(None);
    };
    let invalid = |reason: &str| ConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    let Some(host) = url.host_str() else {
        return Err(invalid("has no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(Some(url.to_string())),
        "http" if loopback => Ok(Some(url.to_string())),
        "http" => Err(invalid(
            "must be https (plain http only to a loopback address)",
        )),
        _ => Err(invalid("must be an https URL")),
    }
}

pub const DEFAULT_NUMBER_INSIGHT_URL: &str = "https://api.nexmo.com/ni";
pub const DEFAULT_IDENTITY_INSIGHTS_URL: &str = "https://api-eu.vonage.com/identity-insights/v1";
pub const DEFAULT_MESSAGES_URL: &str = "https://api.nexmo.com/v1";
pub const DEFAULT_SMS_URL: &str = "https://rest.nexmo.com/sms";
pub const DEFAULT_NUMBERS_URL: &str = "https://rest.nexmo.com";
pub const DEFAULT_APPLICATIONS_URL: &str = "https://api.nexmo.com/v2/applications";

/// A source of settings: the process environment in Lambda, a map in tests.
pub trait Source: Sync {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String> + Sync> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub(crate) fn optional(src: &dyn Source, name: &str) -> Option<String> {
    src.get(name).filter(|v| !v.trim().is_empty())
}

fn required(src: &dyn Source, name: &'static str) -> Result<String, ConfigError> {
    optional(src, name).ok_or(ConfigError::Missing(name))
}

pub(crate) fn number<T: std::str::FromStr>(
    src: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(src, name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

pub(crate) fn text(src: &dyn Source, name: &str, default: &str) -> String {
    // An explicitly empty value is kept: it switches an optional announcement off.
    src.get(name).unwrap_or_else(|| default.to_owned())
}

fn base_url(src: &dyn Source, name: &str, default: &str) -> String {
    optional(src, name)
        .unwrap_or_else(|| default.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The DynamoDB table every function uses.
pub fn table_name(src: &dyn Source) -> Result<String, ConfigError> {
    required(src, "TABLE_NAME")
}

impl VonageConfig {
    /// The settings, with the API secret resolved by [`crate::secrets`].
    pub fn from_source(src: &dyn Source, api_secret: SecretString) -> Result<Self, ConfigError> {
        Ok(Self {
            api_key: required(src, "VONAGE_API_KEY")?,
            api_secret,
            number_insight_url: base_url(
                src,
                "VONAGE_NUMBER_INSIGHT_URL",
                DEFAULT_NUMBER_INSIGHT_URL,
            ),
            number_check: NumberCheckMode::from_source(src)?,
            identity_insights_url: base_url(
                src,
                "VONAGE_IDENTITY_INSIGHTS_URL",
                DEFAULT_IDENTITY_INSIGHTS_URL,
            ),
            messaging: MessagingApi::from_source(src)?,
            messages_url: base_url(src, "VONAGE_MESSAGES_URL", DEFAULT_MESSAGES_URL),
            public_base_url: optional(src, "PUBLIC_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_owned()),
            sms_url: base_url(src, "VONAGE_SMS_URL", DEFAULT_SMS_URL),
            numbers_url: base_url(src, "VONAGE_NUMBERS_URL", DEFAULT_NUMBERS_URL),
            applications_url: base_url(src, "VONAGE_APPLICATIONS_URL", DEFAULT_APPLICATIONS_URL),
            timeout: Duration::from_millis(number(src, "VONAGE_TIMEOUT_MS", 3000)?),
            max_retries: number(src, "VONAGE_MAX_RETRIES", 2)?,
        })
    }
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

/// `MISSED_CALL`: what a missed call leads to unless a conversation asks otherwise.
fn missed_call_mode(src: &dyn Source) -> Result<crate::model::MissedCallMode, ConfigError> {
    let Some(mode) = optional(src, "MISSED_CALL") else {
        return Ok(Default::default());
    };
    serde_json::from_value(serde_json::Value::String(mode.trim().to_ascii_lowercase())).map_err(
        |_| ConfigError::Invalid {
            name: "MISSED_CALL",
            reason: format!("{mode} is not message, voicemail or none"),
        },
    )
}

/// Spoken to a caller before connecting, unless configured or asked otherwise.
pub const DEFAULT_ANNOUNCEMENT: &str = "Connecting your call.";

impl ConversationConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let c = Self {
            default_ttl_seconds: number(src, "DEFAULT_TTL_SECONDS", 3600)?,
            min_ttl_seconds: number(src, "MIN_TTL_SECONDS", 60)?,
            max_ttl_seconds: number(src, "MAX_TTL_SECONDS", 7 * 24 * 3600)?,
            retention_seconds: number::<i64>(src, "RETENTION_DAYS", 30)? * 24 * 3600,
            notify_template: text(
                src,
                "NOTIFY_SMS_TEMPLATE",
                "To reach your {other}, call {proxy}. This number works for this conversation only.",
            ),
            cool_off_seconds: number(src, "COOL_OFF_SECONDS", 600)?,
            sticky: number(src, "STICKY_NUMBERS", false)?,
            auto_rent: auto_rent(src)?,
            insight_keep_seconds: number::<i64>(src, "INSIGHT_CACHE_DAYS", 30)?.max(0) * 24 * 3600,
            call_defaults: crate::model::CallSettings {
                announcement: Some(text(src, "ANNOUNCEMENT_TEXT", DEFAULT_ANNOUNCEMENT)),
                whisper: optional(src, "WHISPER_TEXT"),
                whisper_accept: number(src, "WHISPER_ACCEPT", false)?,
                record: number(src, "RECORD_CALLS", false)?,
                missed_call: missed_call_mode(src)?,
            },
            access_codes: access_code_digits(src)?,
        };
        if !(c.min_ttl_seconds..=c.max_ttl_seconds).contains(&c.default_ttl_seconds) {
            return Err(ConfigError::Invalid {
                name: "DEFAULT_TTL_SECONDS",
                reason: "must lie between MIN_TTL_SECONDS and MAX_TTL_SECONDS".into(),
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_product_contract() {
        let v = VonageConfig::from_source(
            &src(&[("VONAGE_API_KEY", "abcd1234")]),
            SecretString::from("secret"),
        )
        .unwrap();
        assert_eq!(v.number_insight_url, "https://api.nexmo.com/ni");
        assert_eq!(v.sms_url, "https://rest.nexmo.com/sms");
        assert_eq!(v.numbers_url, "https://rest.nexmo.com");
        assert_eq!(v.applications_url, "https://api.nexmo.com/v2/applications");
        assert!(
            !format!("{v:?}").contains("secret\""),
            "the secret is redacted in Debug"
        );
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        let err = VonageConfig::from_source(&src(&[]), SecretString::from("s")).unwrap_err();
        assert!(err.to_string().contains("VONAGE_API_KEY"));
        let err = CallConfig::from_source(&src(&[("RING_TIMEOUT_SECONDS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("RING_TIMEOUT_SECONDS"));
        let err = CallConfig::from_source(&src(&[("CALL_LIMIT_SECONDS", "9000")])).unwrap_err();
        assert!(err.to_string().contains("7200"));
    }

    #[test]
    fn auto_rent_is_off_unless_asked_for_and_checked_when_on() {
        let c = ConversationConfig::from_source(&src(&[])).unwrap();
        assert_eq!(
            (c.cool_off_seconds, c.sticky, c.auto_rent),
            (600, false, None)
        );
        let c = ConversationConfig::from_source(&src(&[
            ("AUTO_RENT", "true"),
            ("AUTO_RENT_FEATURES", "voice,sms"),
            ("AUTO_RENT_MAX_PER_COUNTRY", "3"),
        ]))
        .unwrap();
        assert_eq!(
            c.auto_rent,
            Some(AutoRent {
                max_per_country: 3,
                features: "SMS,VOICE",
                number_type: None
            })
        );
        for (name, value) in [
            ("AUTO_RENT_FEATURES", "FAX"),
            ("AUTO_RENT_TYPE", "satellite"),
        ] {
            let err =
                ConversationConfig::from_source(&src(&[("AUTO_RENT", "true"), (name, value)]))
                    .unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn store_budgets_have_defaults_and_are_checked() {
        let b = AwsBudget::from_source(&src(&[])).unwrap();
        assert_eq!(
            (b.attempt, b.operation, b.max_attempts),
            (Duration::from_millis(1000), Duration::from_millis(2500), 3)
        );
        let b = AwsBudget::from_source(&src(&[
            ("STORE_TIMEOUT_MS", "800"),
            ("STORE_ATTEMPT_TIMEOUT_MS", "300"),
        ]))
        .unwrap();
        assert_eq!(b.operation, Duration::from_millis(800));
        for (name, value) in [
            ("STORE_ATTEMPT_TIMEOUT_MS", "9000"),
            ("STORE_MAX_ATTEMPTS", "0"),
            ("STORE_TIMEOUT_MS", "soon"),
        ] {
            let err = AwsBudget::from_source(&src(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let default = Duration::from_millis(1500);
        assert_eq!(request_timeout(&src(&[]), default).unwrap(), default);
        assert_eq!(
            request_timeout(&src(&[("REQUEST_TIMEOUT_MS", "700")]), default).unwrap(),
            Duration::from_millis(700)
        );
    }

    #[test]
    fn hooks_take_https_or_loopback_http_and_a_bounded_timeout() {
        let none = HookConfig::from_source(&src(&[])).unwrap();
        assert!(!none.any());
        assert_eq!(none.timeout, Duration::from_millis(1500));
        for url in [
            "https://backend.example.com/hooks/oos",
            "http://127.0.0.1:9100/oos",
            "http://localhost:9100/oos",
            "http://[::1]:9100/oos",
        ] {
            let c = HookConfig::from_source(&src(&[("OUT_OF_SESSION_URL", url)])).unwrap();
            assert!(c.out_of_session_url.is_some(), "{url}");
        }
        for url in [
            "http://backend.example.com/hooks",
            "http://10.0.0.5/hooks",
            "ftp://backend.example.com/",
            "not a url",
        ] {
            let e = HookConfig::from_source(&src(&[("INTERCEPT_URL", url)])).unwrap_err();
            assert!(e.to_string().starts_with("INTERCEPT_URL"), "{url}: {e}");
        }
        for ms in ["0", "60000", "soon"] {
            assert!(HookConfig::from_source(&src(&[("HOOK_TIMEOUT_MS", ms)])).is_err());
        }
    }

    #[test]
    fn an_empty_announcement_switches_it_off() {
        let c = CallConfig::from_source(&src(&[("ANNOUNCEMENT_TEXT", "")])).unwrap();
        assert_eq!(c.announcement, "");
        let c = CallConfig::from_source(&src(&[])).unwrap();
        assert!(!c.announcement.is_empty());
    }
}
