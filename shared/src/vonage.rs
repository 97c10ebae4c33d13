//! The Vonage clients: Number Insight, SMS, Numbers and Applications (`VonageClient`, with the
//! account's key and secret) and the Voice API (`VoiceClient`, with the application's JWT), each at its own base URL, with credentials
//! sent exactly where each spec in `vonage/` declares them, a timeout, and retries with backoff on
//! 429 and 5xx. Credentials never appear in a log line or an error (reqwest's URL, which holds
//! the query string, is stripped from every error).

use crate::values::{Country, NumberType};
use std::time::Duration;

use reqwest::{Client, RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::VonageConfig;
use crate::phone::{Msisdn, mask_digit_runs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    NumberInsight,
    Sms,
    Numbers,
    Applications,
    Voice,
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Api::NumberInsight => "Number Insight",
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
            Self::Timeout { .. } | Self::Transport { .. } | Self::Decode { .. } => true,
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

/// What Number Insight basic said of a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insight {
    /// Status 0: the number in international format and its ISO country.
    Valid {
        international: Msisdn,
        country: Country,
    },
    /// The lookup worked and the number is not valid (status 3: invalid request for this number).
    NotValid { status: i64, message: String },
}

#[derive(Debug, Deserialize)]
struct NiBasicResponse {
    status: i64,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    international_format_number: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
}

#[derive(Serialize)]
struct Credentials<'a> {
    api_key: &'a str,
    api_secret: &'a str,
}

#[derive(Serialize)]
struct NewMessage<'a> {
    api_key: &'a str,
    api_secret: &'a str,
    from: &'a str,
    to: &'a str,
    text: &'a str,
    #[serde(rename = "type")]
    type_: &'static str,
    #[serde(rename = "client-ref", skip_serializing_if = "Option::is_none")]
    client_ref: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
struct SmsResponse {
    #[serde(default)]
    messages: Vec<SmsMessageStatus>,
}

#[derive(Debug, Deserialize)]
struct SmsMessageStatus {
    status: String,
    #[serde(rename = "message-id", default)]
    message_id: Option<String>,
    #[serde(rename = "error-text", default)]
    error_text: Option<String>,
}

#[derive(Serialize)]
struct NumberUpdate<'a> {
    country: &'a str,
    msisdn: &'a str,
    app_id: &'a str,
}

#[derive(Serialize)]
struct NumberDetails<'a> {
    country: &'a str,
    msisdn: &'a str,
}

#[derive(Serialize)]
struct NumberSearch<'a> {
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    search_pattern: Option<u8>,
    size: u32,
}

#[derive(Serialize)]
struct OwnedSearch<'a> {
    pattern: &'a str,
    search_pattern: u8,
}

/// What to look for with the Numbers search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberQuery {
    /// ISO 3166 alpha-2.
    pub country: Country,
    /// One of the spellings the spec allows, such as `SMS,VOICE` (see [`features_param`]).
    pub features: Option<&'static str>,
    /// `landline`, `mobile-lvn` or `landline-toll-free`.
    pub number_type: Option<NumberType>,
    /// Digits the number starts with (country code included).
    pub starts_with: Option<String>,
    pub size: u32,
}

impl NumberQuery {
    /// Any number in `country`.
    pub fn in_country(country: Country) -> Self {
        Self {
            country,
            features: None,
            number_type: None,
            starts_with: None,
            size: 0,
        }
    }
}

/// A number found by a search or owned by the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NumberOffer {
    pub country: String,
    pub msisdn: String,
    #[serde(rename = "type", default)]
    pub number_type: Option<String>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub cost: Option<String>,
    /// For an owned number: where its calls go (`app` for an application).
    #[serde(rename = "voiceCallbackType", default)]
    pub voice_callback_type: Option<String>,
    /// For an owned number: the application (or SIP URI, or number) its calls go to.
    #[serde(rename = "voiceCallbackValue", default)]
    pub voice_callback_value: Option<String>,
}

impl NumberOffer {
    /// Whether the number's calls go to the application `id`.
    pub fn linked_to(&self, id: &str) -> bool {
        self.voice_callback_type.as_deref() == Some("app")
            && self.voice_callback_value.as_deref() == Some(id)
    }
}

#[derive(Debug, Deserialize)]
struct NumberList {
    #[serde(default)]
    numbers: Vec<NumberOffer>,
}

#[derive(Debug, Deserialize)]
struct NumbersResponse {
    #[serde(rename = "error-code")]
    error_code: String,
    #[serde(rename = "error-code-label", default)]
    error_code_label: Option<String>,
}

pub use crate::model::features_param;

/// Client for the Vonage REST APIs the product uses. Cheap to clone.
#[derive(Clone)]
pub struct VonageClient {
    http: Client,
    api_key: String,
    api_secret: SecretString,
    number_insight_url: String,
    sms_url: String,
    numbers_url: String,
    applications_url: String,
    max_retries: u32,
    backoff: Duration,
}

impl VonageClient {
    pub fn new(config: &VonageConfig) -> Result<Self, reqwest::Error> {
        let http = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(2)))
            .user_agent(concat!("voice-proxy/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
            number_insight_url: config.number_insight_url.clone(),
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

    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            api_key: &self.api_key,
            api_secret: self.api_secret.expose_secret(),
        }
    }

    /// Number Insight basic: `GET {ni}/basic/json`, credentials in the query.
    #[tracing::instrument(skip_all, fields(number = %number.masked()))]
    pub async fn basic_insight(&self, number: &Msisdn) -> Result<Insight, VonageError> {
        let api = Api::NumberInsight;
        let url = format!("{}/basic/json", self.number_insight_url);
        let body: NiBasicResponse = self
            .send(api, true, || {
                self.http
                    .get(&url)
                    .query(&self.credentials())
                    .query(&[("number", number.as_str())])
            })
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        let message = body.status_message.unwrap_or_default();
        match body.status {
            0 => {
                let international = body
                    .international_format_number
                    .as_deref()
                    .and_then(Msisdn::from_digits)
                    .unwrap_or_else(|| number.clone());
                let country = body
                    .country_code
                    .and_then(|c| c.parse().ok())
                    .or_else(|| number.region())
                    .unwrap_or_else(Country::unknown);
                Ok(Insight::Valid {
                    international,
                    country,
                })
            }
            3 => Ok(Insight::NotValid { status: 3, message }),
            other => Err(VonageError::rejected(api, other.to_string(), &message)),
        }
    }

    /// Sends one SMS: `POST {sms}/json`, form-encoded, credentials in the form. Returns the
    /// message id. Not retried after a timeout, since the text may already be on its way.
    #[tracing::instrument(skip_all, fields(from = %from.masked(), to = %to.masked()))]
    pub async fn send_sms(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> Result<String, VonageError> {
        let api = Api::Sms;
        let url = format!("{}/json", self.sms_url);
        let secret = self.api_secret.expose_secret();
        let form = NewMessage {
            api_key: &self.api_key,
            api_secret: secret,
            from: from.as_str(),
            to: to.as_str(),
            text,
            type_: if text.is_ascii() { "text" } else { "unicode" },
            client_ref,
        };
        let body: SmsResponse = self
            .send(api, false, || self.http.post(&url).form(&form))
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        match body.messages.first() {
            Some(m) if m.status == "0" => Ok(m.message_id.clone().unwrap_or_default()),
            Some(m) => Err(VonageError::rejected(
                api,
                m.status.clone(),
                m.error_text.as_deref().unwrap_or_default(),
            )),
            None => Err(VonageError::rejected(
                api,
                "none",
                "no message status in the answer",
            )),
        }
    }

    /// Links a number the account owns to the Voice application:
    /// `POST {numbers}/number/update`, credentials in the query, form body.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn link_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
        app_id: &str,
    ) -> Result<(), VonageError> {
        let api = Api::Numbers;
        let url = format!("{}/number/update", self.numbers_url);
        let form = NumberUpdate {
            country: country.as_str(),
            msisdn: msisdn.as_str(),
            app_id,
        };
        let response = self
            .send(api, true, || {
                self.http.post(&url).query(&self.credentials()).form(&form)
            })
            .await?;
        numbers_outcome(api, response).await
    }

    /// Numbers the account can buy: `GET {numbers}/number/search`, credentials in the query.
    #[tracing::instrument(skip_all, fields(country = %query.country))]
    pub async fn search_numbers(
        &self,
        query: &NumberQuery,
    ) -> Result<Vec<NumberOffer>, VonageError> {
        let params = NumberSearch {
            country: query.country.as_str(),
            features: query.features,
            type_: query.number_type.map(NumberType::as_str),
            pattern: query.starts_with.as_deref(),
            search_pattern: query.starts_with.as_ref().map(|_| 0),
            size: query.size.clamp(1, 100),
        };
        self.number_list("/number/search", &params).await
    }

    /// The account's own record of `msisdn`, if it owns it: `GET {numbers}/account/numbers`.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked()))]
    pub async fn owned_number(&self, msisdn: &Msisdn) -> Result<Option<NumberOffer>, VonageError> {
        let params = OwnedSearch {
            pattern: msisdn.as_str(),
            search_pattern: 0,
        };
        let numbers = self.number_list("/account/numbers", &params).await?;
        Ok(numbers.into_iter().find(|n| n.msisdn == msisdn.as_str()))
    }

    /// A Numbers API list (`GET {numbers}{path}`, credentials and `params` in the query).
    async fn number_list(
        &self,
        path: &str,
        params: &impl Serialize,
    ) -> Result<Vec<NumberOffer>, VonageError> {
        let api = Api::Numbers;
        let url = format!("{}{path}", self.numbers_url);
        let list: NumberList = self
            .send(api, true, || {
                self.http.get(&url).query(&self.credentials()).query(params)
            })
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        Ok(list.numbers)
    }

    /// Rents a number: `POST {numbers}/number/buy`. Not retried after a timeout: whether it was
    /// bought is then found out with [`Self::owned_number`].
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn buy_number(&self, msisdn: &Msisdn, country: &Country) -> Result<(), VonageError> {
        self.number_action("buy", false, msisdn, country).await
    }

    /// Ends a number's rental: `POST {numbers}/number/cancel`.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn cancel_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
    ) -> Result<(), VonageError> {
        self.number_action("cancel", true, msisdn, country).await
    }

    async fn number_action(
        &self,
        action: &str,
        idempotent: bool,
        msisdn: &Msisdn,
        country: &Country,
    ) -> Result<(), VonageError> {
        let api = Api::Numbers;
        let url = format!("{}/number/{action}", self.numbers_url);
        let form = NumberDetails {
            country: country.as_str(),
            msisdn: msisdn.as_str(),
        };
        let response = self
            .send_allowing(api, idempotent, &[420], || {
                self.http.post(&url).query(&self.credentials()).form(&form)
            })
            .await?;
        numbers_outcome(api, response).await
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

/// The Voice application the stack's numbers are linked to, as the set-up writes it: its name,
/// the stack's three webhook URLs (each called with `POST`, so the signature covers every field)
/// and signed callbacks on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSpec {
    pub name: String,
    pub answer_url: String,
    pub fallback_answer_url: String,
    pub event_url: String,
}

impl ApplicationSpec {
    /// The request body: `capabilities` as they are (an adopted application keeps its other
    /// capabilities and voice settings) with the voice webhooks and signed callbacks set.
    fn body(&self, capabilities: &serde_json::Value) -> serde_json::Value {
        let hook = |address: &str| serde_json::json!({"address": address, "http_method": "POST"});
        let mut capabilities = match capabilities {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let voice = capabilities
            .entry("voice")
            .or_insert_with(|| serde_json::json!({}));
        if !voice.is_object() {
            *voice = serde_json::json!({});
        }
        voice["webhooks"] = serde_json::json!({
            "answer_url": hook(&self.answer_url),
            "fallback_answer_url": hook(&self.fallback_answer_url),
            "event_url": hook(&self.event_url),
        });
        voice["signed_callbacks"] = serde_json::Value::Bool(true);
        serde_json::json!({"name": self.name, "capabilities": capabilities})
    }
}

/// One of an application's voice webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppWebhook {
    pub address: String,
    #[serde(default)]
    pub http_method: Option<String>,
}

/// An application as the Application API shows it.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub answer_url: Option<AppWebhook>,
    pub fallback_answer_url: Option<AppWebhook>,
    pub event_url: Option<AppWebhook>,
    /// `None` when the API does not say.
    pub signed_callbacks: Option<bool>,
    /// Only in the answer to a creation: the key Voice API tokens are signed with.
    pub private_key: Option<SecretString>,
    /// Every capability as the API shows it, kept so that an update changes only the voice
    /// webhooks and signed callbacks.
    pub capabilities: serde_json::Value,
}

#[derive(Deserialize)]
struct ApplicationBody {
    id: String,
    name: String,
    #[serde(default)]
    capabilities: serde_json::Value,
    #[serde(default)]
    keys: Option<KeysBody>,
}

#[derive(Deserialize)]
struct CapabilitiesBody {
    #[serde(default)]
    voice: Option<VoiceBody>,
}

#[derive(Deserialize)]
struct VoiceBody {
    #[serde(default)]
    webhooks: Option<WebhooksBody>,
    #[serde(default)]
    signed_callbacks: Option<bool>,
}

#[derive(Deserialize)]
struct WebhooksBody {
    #[serde(default)]
    answer_url: Option<AppWebhook>,
    #[serde(default)]
    fallback_answer_url: Option<AppWebhook>,
    #[serde(default)]
    event_url: Option<AppWebhook>,
}

#[derive(Deserialize)]
struct KeysBody {
    #[serde(default)]
    private_key: Option<String>,
}

impl From<ApplicationBody> for Application {
    fn from(b: ApplicationBody) -> Self {
        let voice = CapabilitiesBody::deserialize(&b.capabilities)
            .ok()
            .and_then(|c| c.voice);
        let signed_callbacks = voice.as_ref().and_then(|v| v.signed_callbacks);
        let hooks = voice.and_then(|v| v.webhooks);
        let (answer_url, fallback_answer_url, event_url) = match hooks {
            Some(h) => (h.answer_url, h.fallback_answer_url, h.event_url),
            None => (None, None, None),
        };
        Self {
            id: b.id,
            name: b.name,
            answer_url,
            fallback_answer_url,
            event_url,
            signed_callbacks,
            private_key: b.keys.and_then(|k| k.private_key).map(SecretString::from),
            capabilities: b.capabilities,
        }
    }
}

impl VonageClient {
    fn basic_auth(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.basic_auth(&self.api_key, Some(self.api_secret.expose_secret()))
    }

    async fn application_answer(
        &self,
        response: reqwest::Response,
    ) -> Result<Application, VonageError> {
        let body: ApplicationBody = response
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(Api::Applications, e))?;
        Ok(body.into())
    }

    /// Creates the application: `POST {applications}`, HTTP Basic credentials. The answer
    /// carries its id and, this once, its private key. Not retried: a lost answer could
    /// otherwise create two.
    #[tracing::instrument(skip_all, fields(name = %spec.name))]
    pub async fn create_application(
        &self,
        spec: &ApplicationSpec,
    ) -> Result<Application, VonageError> {
        let body = spec.body(&serde_json::Value::Null);
        let response = self
            .send(Api::Applications, false, || {
                self.basic_auth(self.http.post(&self.applications_url).json(&body))
            })
            .await?;
        self.application_answer(response).await
    }

    /// Sets the application's name, voice webhooks and signed callbacks, keeping the rest of
    /// `current` (as [`Self::get_application`] gave it): `PUT {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %current.id))]
    pub async fn update_application(
        &self,
        current: &Application,
        spec: &ApplicationSpec,
    ) -> Result<Application, VonageError> {
        let body = spec.body(&current.capabilities);
        let url = format!("{}/{}", self.applications_url, current.id);
        let response = self
            .send(Api::Applications, true, || {
                self.basic_auth(self.http.put(&url).json(&body))
            })
            .await?;
        self.application_answer(response).await
    }

    /// The application, or `None` when the account has none with this id:
    /// `GET {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn get_application(&self, id: &str) -> Result<Option<Application>, VonageError> {
        let url = format!("{}/{id}", self.applications_url);
        let response = self
            .send_allowing(Api::Applications, true, &[404], || {
                self.basic_auth(self.http.get(&url))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.application_answer(response).await.map(Some)
    }

    /// Deletes the application; one already gone is fine: `DELETE {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn delete_application(&self, id: &str) -> Result<(), VonageError> {
        let url = format!("{}/{id}", self.applications_url);
        self.send_allowing(Api::Applications, true, &[404], || {
            self.basic_auth(self.http.delete(&url))
        })
        .await?;
        Ok(())
    }
}

/// A Numbers API answer: `error-code` 200 is success, anything else a refusal with its label.
async fn numbers_outcome(api: Api, response: reqwest::Response) -> Result<(), VonageError> {
    let body: NumbersResponse = response
        .json()
        .await
        .map_err(|e| VonageError::from_reqwest(api, e))?;
    if body.error_code == "200" {
        Ok(())
    } else {
        Err(VonageError::rejected(
            api,
            body.error_code,
            body.error_code_label.as_deref().unwrap_or_default(),
        ))
    }
}

/// The Voice API (`voice.yml`) for calls in progress, and the recordings Vonage keeps, with the
/// application's JWT (RS256, signed with its private key, a fresh `jti` per request). Cheap to
/// clone.
#[derive(Clone)]
pub struct VoiceClient {
    http: Client,
    voice_url: String,
    files_url: String,
    application_id: String,
    key: std::sync::Arc<jsonwebtoken::EncodingKey>,
    max_retries: u32,
    backoff: Duration,
}

/// Why a Voice client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VoiceSetupError {
    #[error("the application's private key is not an RSA key in PEM")]
    Key(#[source] jsonwebtoken::errors::Error),
    #[error("the Voice API client could not be built")]
    Http(#[source] reqwest::Error),
}

#[derive(Serialize)]
struct ApplicationClaims<'a> {
    application_id: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// How long a Voice API token is good for (Vonage allows 30 s to 24 h).
const TOKEN_SECONDS: i64 = 300;

impl VoiceClient {
    pub fn new(config: &crate::config::VoiceConfig) -> Result<Self, VoiceSetupError> {
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(config.private_key.expose_secret().as_bytes())
                .map_err(VoiceSetupError::Key)?;
        let http = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(2)))
            .user_agent(concat!("voice-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(VoiceSetupError::Http)?;
        Ok(Self {
            http,
            voice_url: config.voice_url.clone(),
            files_url: config.files_url.clone(),
            application_id: config.application_id.clone(),
            key: std::sync::Arc::new(key),
            max_retries: config.max_retries,
            backoff: Duration::from_millis(100),
        })
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// A token for one request.
    fn token(&self) -> Result<String, VonageError> {
        let now = crate::now();
        let claims = ApplicationClaims {
            application_id: &self.application_id,
            iat: now,
            exp: now + TOKEN_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &self.key,
        )
        .map_err(|_| {
            VonageError::rejected(
                Api::Voice,
                "token",
                "the application token could not be signed",
            )
        })
    }

    /// `PUT {voice}/{leg}` with `body`: a call leg told what to do.
    async fn modify(&self, leg: &str, body: &serde_json::Value) -> Result<(), VonageError> {
        let api = Api::Voice;
        if leg.is_empty() || !leg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(VonageError::rejected(api, "leg", "not a call leg's id"));
        }
        let token = self.token()?;
        let url = format!("{}/{leg}", self.voice_url);
        self.send(api, || self.http.put(&url).bearer_auth(&token).json(body))
            .await
            .map(drop)
    }

    async fn send(
        &self,
        api: Api,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, VonageError> {
        send_retrying(self.max_retries, self.backoff, api, true, &[], build).await
    }

    /// Ends one leg of a call.
    #[tracing::instrument(skip_all)]
    pub async fn hang_up(&self, leg: &str) -> Result<(), VonageError> {
        self.modify(leg, &serde_json::json!({"action": "hangup"}))
            .await
    }

    /// Takes a leg out of what it is doing and plays it `ncco` instead.
    #[tracing::instrument(skip_all)]
    pub async fn transfer(&self, leg: &str, ncco: &crate::ncco::Ncco) -> Result<(), VonageError> {
        let body = serde_json::json!({
            "action": "transfer",
            "destination": {"type": "ncco", "ncco": ncco},
        });
        self.modify(leg, &body).await
    }

    /// Downloads a recording Vonage keeps, from the `recording_url` of a `record` event. Only
    /// an https URL of Vonage's file store (or the configured `VONAGE_FILES_URL`) is fetched:
    /// the application's token goes nowhere else.
    #[tracing::instrument(skip_all)]
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, VonageError> {
        let api = Api::Voice;
        if !self.is_vonage_file(url) {
            return Err(VonageError::rejected(
                api,
                "recording_url",
                "not a URL of Vonage's file store",
            ));
        }
        let token = self.token()?;
        let response = self
            .send(api, || self.http.get(url).bearer_auth(&token))
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        Ok(bytes.to_vec())
    }

    fn is_vonage_file(&self, url: &str) -> bool {
        if url.starts_with(&format!("{}/", self.files_url)) {
            return true;
        }
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return false;
        };
        let host = parsed.host_str().unwrap_or_default();
        parsed.scheme() == "https"
            && (host.ends_with(".nexmo.com") || host.ends_with(".vonage.com"))
            && parsed.path().starts_with("/v1/files/")
    }
}
