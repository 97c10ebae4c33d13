//! The Vonage APIs: credentials, base URLs, which API checks numbers and which carries texts.

use std::time::Duration;

use secrecy::SecretString;

use super::{ConfigError, Source, base_url, number, optional, required};

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
    /// The settings without the application's id and key, which the stack's secret supplies
    /// each time a client is built.
    pub fn without_credentials(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::from_source(src, String::new(), SecretString::from(String::new()))
    }

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

pub const DEFAULT_NUMBER_INSIGHT_URL: &str = "https://api.nexmo.com/ni";
pub const DEFAULT_IDENTITY_INSIGHTS_URL: &str = "https://api-eu.vonage.com/identity-insights/v1";
pub const DEFAULT_MESSAGES_URL: &str = "https://api.nexmo.com/v1";
pub const DEFAULT_SMS_URL: &str = "https://rest.nexmo.com/sms";
pub const DEFAULT_NUMBERS_URL: &str = "https://rest.nexmo.com";
pub const DEFAULT_APPLICATIONS_URL: &str = "https://api.nexmo.com/v2/applications";

impl VonageConfig {
    /// The settings without the API secret, which [`crate::secrets::vonage_client`] reads each
    /// time it builds a client.
    pub fn without_secret(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::from_source(src, SecretString::from(String::new()))
    }

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
