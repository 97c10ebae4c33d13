//! The Vonage clients, one file per API, each at its own base URL, with credentials sent exactly
//! where each spec in `vonage/` declares them, a timeout, and retries with backoff on 429 and
//! 5xx. With the account's key and secret (`VonageClient`): Number Insight, SMS, Numbers and
//! Applications. With the application's JWT ([`jwt`]): Identity Insights and the Voice API.
//! Credentials never appear in a log line or an error (reqwest's URL, which holds the query
//! string, is stripped from every error).

mod applications;
mod identity_insights;
pub mod jwt;
mod messages;
mod number_insight;
mod numbers;
mod sms;
mod voice;

pub use applications::{AppWebhook, Application, ApplicationSpec};
pub use identity_insights::IdentityInsightsClient;
pub use messages::MessagesClient;
pub use numbers::{NumberOffer, NumberQuery, features_param};
pub use voice::{NewCall, StartedCall, VoiceClient};

use std::time::Duration;

use reqwest::{Client, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::config::{MessagingApi, NumberCheckMode, VonageConfig};
use crate::model::{LineType, NumberFacts};
use crate::phone::{Msisdn, mask_digit_runs};
use crate::values::Country;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    IdentityInsights,
    NumberInsight,
    Messages,
    Sms,
    Numbers,
    Applications,
    Voice,
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Api::IdentityInsights => "Identity Insights",
            Api::NumberInsight => "Number Insight",
            Api::Messages => "Messages",
            Api::Sms => "SMS",
            Api::Numbers => "Numbers",
            Api::Applications => "Application",
            Api::Voice => "Voice",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VonageError {
    #[error("{api} API timed out")]
    Timeout { api: Api },
    #[error("{api} API could not be reached")]
    Transport {
        api: Api,
        #[source]
        source: reqwest::Error,
    },
    #[error("{api} API answered HTTP {status}")]
    Status { api: Api, status: u16 },
    #[error("{api} API refused the request: {code} {message}")]
    Rejected {
        api: Api,
        code: String,
        message: String,
    },
    #[error("{api} API has no credentials here (the application's key is not in the secret yet)")]
    NotConfigured { api: Api },
    #[error("{api} API answered with a body that could not be read")]
    Decode {
        api: Api,
        #[source]
        source: reqwest::Error,
    },
}

impl VonageError {
    /// An API's refusal. Its text may quote a number, so digit runs are masked here, once for
    /// every refusal.
    fn rejected(api: Api, code: impl Into<String>, message: &str) -> Self {
        Self::Rejected {
            api,
            code: code.into(),
            message: mask_digit_runs(message),
        }
    }

    /// Whether a later attempt may succeed: a timeout, no connection, a `429` or `5xx`, an
    /// answer that could not be read, or an SMS refused as throttled (`1`) or by an internal
    /// error (`5`). Anything else (bad credentials, a barred number) fails the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Decode { .. }
            | Self::NotConfigured { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Rejected { api, code, .. } => *api == Api::Sms && (code == "1" || code == "5"),
        }
    }

    fn from_reqwest(api: Api, e: reqwest::Error) -> Self {
        let e = e.without_url();
        if e.is_timeout() {
            Self::Timeout { api }
        } else if e.is_decode() {
            Self::Decode { api, source: e }
        } else {
            Self::Transport { api, source: e }
        }
    }
}

/// What a number check said of a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insight {
    /// A number carriers can assign: its international form, its ISO country, and what else
    /// the check told of it.
    Valid {
        international: Msisdn,
        country: Country,
        facts: NumberFacts,
    },
    /// The check worked and said the number is not valid: `status` is the API's own word for
    /// it (Number Insight's `3`, Identity Insights' `INVALID_NUMBER_FORMAT`).
    NotValid { status: String, message: String },
}

impl Insight {
    /// The number checked with libphonenumber alone (`NUMBER_CHECK=local`, or when Vonage's
    /// check could not answer): a number of a length its country's numbers can have (what
    /// [`Msisdn::parse`] already asked of it) is accepted, in its country. Its kind of line is
    /// told only where the number lies in a range libphonenumber knows: a range newer than its
    /// data is accepted all the same, since refusing a real number would stop a creation that
    /// Vonage would have let through.
    pub fn local(number: &Msisdn) -> Self {
        let Ok(parsed) = phonenumber::parse(None, format!("+{}", number.as_str())) else {
            return Self::NotValid {
                status: "local".into(),
                message: "not a phone number".into(),
            };
        };
        let line = if phonenumber::is_valid(&parsed) {
            match parsed.number_type(&phonenumber::metadata::DATABASE) {
                phonenumber::Type::FixedLine => Some(LineType::Landline),
                phonenumber::Type::Mobile => Some(LineType::Mobile),
                _ => None,
            }
        } else {
            None
        };
        Self::Valid {
            international: number.clone(),
            country: number.region().unwrap_or_else(Country::unknown),
            facts: NumberFacts {
                line,
                ..NumberFacts::default()
            },
        }
    }
}

/// How texts go out (`MESSAGING_API`): the Messages API client, or the SMS API.
#[derive(Clone)]
pub enum Messaging {
    Messages(MessagesClient),
    SmsApi,
}

/// How numbers are checked (`NUMBER_CHECK`): the client that asks Vonage, or none.
#[derive(Clone)]
pub enum NumberCheck {
    IdentityInsights(IdentityInsightsClient),
    NumberInsight,
    Local,
}

/// The application's id and private key (from the stack's secret), which Identity Insights and
/// the Messages API take tokens of.
pub type ApplicationKey<'a> = Option<(&'a str, &'a SecretString)>;

impl NumberCheck {
    /// The check `config` names. Identity Insights signs with `token`; without one, as before
    /// the set-up has put the application's key in the secret, numbers are checked locally and
    /// an error says why.
    fn from_config(
        config: &VonageConfig,
        token: Option<jwt::ApplicationToken>,
    ) -> Result<Self, jwt::SetupError> {
        Ok(match (config.number_check, token) {
            (NumberCheckMode::Local, _) => Self::Local,
            (NumberCheckMode::NumberInsight, _) => Self::NumberInsight,
            (NumberCheckMode::IdentityInsights, Some(token)) => {
                Self::IdentityInsights(IdentityInsightsClient::new(
                    &config.identity_insights_url,
                    token,
                    config.timeout,
                    config.max_retries,
                )?)
            }
            (NumberCheckMode::IdentityInsights, None) => {
                tracing::error!(
                    "NUMBER_CHECK=identity-insights needs the application's id and private key, which the stack's secret does not hold yet: numbers are checked locally"
                );
                Self::Local
            }
        })
    }
}

impl Messaging {
    /// The API `config` names. The Messages API signs with `token`; without one, as before the
    /// set-up has put the application's key in the secret, texts go through the SMS API and an
    /// error says why.
    fn from_config(
        config: &VonageConfig,
        token: Option<jwt::ApplicationToken>,
    ) -> Result<Self, jwt::SetupError> {
        Ok(match (config.messaging, token) {
            (MessagingApi::Sms, _) => Self::SmsApi,
            (MessagingApi::Messages, Some(token)) => Self::Messages(MessagesClient::new(
                &config.messages_url,
                token,
                config.timeout,
                config.max_retries,
            )?),
            (MessagingApi::Messages, None) => {
                tracing::error!(
                    "MESSAGING_API=messages needs the application's id and private key, which the stack's secret does not hold yet: texts go through the SMS API"
                );
                Self::SmsApi
            }
        })
    }
}

#[derive(Serialize)]
struct Credentials<'a> {
    api_key: &'a str,
    api_secret: &'a str,
}

/// Client for the Vonage REST APIs the product uses. Cheap to clone.
#[derive(Clone)]
pub struct VonageClient {
    http: Client,
    api_key: String,
    api_secret: SecretString,
    number_insight_url: String,
    number_check: NumberCheck,
    messaging: Messaging,
    /// As configured: the account's own setting, which decides where inbound texts go.
    messaging_api: MessagingApi,
    public_base_url: Option<String>,
    sms_url: String,
    numbers_url: String,
    applications_url: String,
    max_retries: u32,
    backoff: Duration,
}

impl VonageClient {
    pub fn new(config: &VonageConfig) -> Result<Self, reqwest::Error> {
        let http = http_client(config.timeout)?;
        Ok(Self {
            http,
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
            number_insight_url: config.number_insight_url.clone(),
            // Identity Insights needs the application's key: it comes with
            // [`Self::with_number_check`], and until then numbers are checked locally.
            number_check: match config.number_check {
                NumberCheckMode::NumberInsight => NumberCheck::NumberInsight,
                NumberCheckMode::IdentityInsights | NumberCheckMode::Local => NumberCheck::Local,
            },
            // Likewise the Messages API: texts go through the SMS API until it comes.
            messaging: Messaging::SmsApi,
            messaging_api: config.messaging,
            public_base_url: config.public_base_url.clone(),
            sms_url: config.sms_url.clone(),
            numbers_url: config.numbers_url.clone(),
            applications_url: config.applications_url.clone(),
            max_retries: config.max_retries,
            backoff: Duration::from_millis(100),
        })
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Checks numbers as `check` does.
    pub fn with_number_check(mut self, check: NumberCheck) -> Self {
        self.number_check = check;
        self
    }

    /// Sends texts as `messaging` does.
    pub fn with_messaging(mut self, messaging: Messaging) -> Self {
        self.messaging = messaging;
        self
    }

    /// The number check and the messaging API `config` names, those that take the
    /// application's token signing as `application` (its key read once for both).
    pub fn with_application(
        self,
        config: &VonageConfig,
        application: ApplicationKey<'_>,
    ) -> Result<Self, jwt::SetupError> {
        let token = application
            .map(|(id, key)| jwt::ApplicationToken::new(id, key))
            .transpose()?;
        Ok(self
            .with_number_check(NumberCheck::from_config(config, token.clone())?)
            .with_messaging(Messaging::from_config(config, token)?))
    }

    /// Sends one text: through the Messages API or the SMS API, as `MESSAGING_API` says. Its
    /// id (`message_uuid`, or the SMS API's `message-id`), which its statuses name.
    pub async fn send_sms(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> Result<String, VonageError> {
        match &self.messaging {
            Messaging::Messages(client) => client.send(from, to, text, client_ref).await,
            Messaging::SmsApi => self.send_with_sms_api(from, to, text, client_ref).await,
        }
    }

    /// Where the stack's webhook `path` is, when the stack's base URL is known.
    fn webhook(&self, path: &str) -> Option<String> {
        self.public_base_url.as_ref().map(|b| format!("{b}{path}"))
    }

    /// What the configured check (`NUMBER_CHECK`) says of `number`: Identity Insights, Number
    /// Insight, or libphonenumber alone. An error is a check that could not answer.
    pub async fn check_number(&self, number: &Msisdn) -> Result<Insight, VonageError> {
        match &self.number_check {
            NumberCheck::IdentityInsights(client) => client.check(number).await,
            NumberCheck::NumberInsight => self.basic_insight(number).await,
            NumberCheck::Local => Ok(Insight::local(number)),
        }
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            api_key: &self.api_key,
            api_secret: self.api_secret.expose_secret(),
        }
    }

    /// Sends a request, retrying with exponential backoff on 429 and 5xx (and, when the call is
    /// idempotent, on timeouts and connection failures). Any other non-2xx is an error at once.
    async fn send(
        &self,
        api: Api,
        idempotent: bool,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, VonageError> {
        self.send_allowing(api, idempotent, &[], build).await
    }

    /// [`Self::send`], treating the statuses in `answered` as answers to read rather than
    /// failures (the Numbers API says why it refused a purchase in a 420's body).
    async fn send_allowing(
        &self,
        api: Api,
        idempotent: bool,
        answered: &[u16],
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, VonageError> {
        send_retrying(
            self.max_retries,
            self.backoff,
            api,
            idempotent,
            answered,
            build,
        )
        .await
    }
}

/// An HTTP client for one Vonage API: the whole request within `timeout`, the connection within
/// 2 s of it.
fn http_client(timeout: Duration) -> reqwest::Result<Client> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .user_agent(concat!("voice-proxy/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends the request `build` makes, retrying a `429`, a `5xx` and (for an idempotent request)
/// a timeout or a failed connection up to `max_retries` times with exponential backoff from
/// `backoff` and jitter; a status other than success or one of `answered` is an error.
async fn send_retrying(
    max_retries: u32,
    backoff: Duration,
    api: Api,
    idempotent: bool,
    answered: &[u16],
    build: impl Fn() -> RequestBuilder,
) -> Result<reqwest::Response, VonageError> {
    let mut attempt = 0;
    loop {
        let outcome = build().send().await;
        let retryable = match &outcome {
            Ok(r) => r.status() == StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error(),
            Err(e) => idempotent && (e.is_timeout() || e.is_connect()),
        };
        if retryable && attempt < max_retries {
            attempt += 1;
            let wait = backoff * 2u32.pow(attempt - 1);
            let jitter = Duration::from_millis(rand::random_range(0..=wait.as_millis() as u64 / 2));
            tracing::warn!(%api, attempt, "retrying a Vonage request");
            tokio::time::sleep(wait + jitter).await;
            continue;
        }
        let response = outcome.map_err(|e| VonageError::from_reqwest(api, e))?;
        let status = response.status();
        if !status.is_success() && !answered.contains(&status.as_u16()) {
            return Err(VonageError::Status {
                api,
                status: status.as_u16(),
            });
        }
        return Ok(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(digits: &str) -> Insight {
        Insight::local(&Msisdn::from_digits(digits).expect("digits"))
    }

    fn line(insight: &Insight) -> Option<LineType> {
        match insight {
            Insight::Valid { facts, .. } => facts.line,
            Insight::NotValid { .. } => panic!("{insight:?} is not valid"),
        }
    }

    #[test]
    fn a_local_check_tells_mobiles_from_fixed_lines_where_the_numbering_plan_does() {
        // libphonenumber's own examples of a British mobile and a London fixed line.
        assert_eq!(line(&local("447400123456")), Some(LineType::Mobile));
        assert_eq!(line(&local("441212345678")), Some(LineType::Landline));
        // A North American number can be either: nothing is claimed.
        assert_eq!(line(&local("12015550123")), None);
    }

    #[test]
    fn a_local_check_accepts_a_range_its_data_does_not_know() {
        // 07700 900xxx is kept for drama; a range too new for the data looks the same.
        let insight = local("447700900001");
        assert_eq!(line(&insight), None);
        let Insight::Valid { country, .. } = insight else {
            unreachable!()
        };
        assert_eq!(country.as_str(), "GB");
    }
}
