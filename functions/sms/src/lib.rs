//! The inbound-text webhooks: `/webhooks/inbound-sms` (SMS API, `sig`-signed, any encoding)
//! and `/webhooks/inbound-message` (Messages API, a JSON body signed with a JWT like the Voice
//! webhooks). Each checks its signature, reads the message and hands it to the one relay
//! (`shared::domain::relay`): one domain, two edges. Message text is never logged. And the
//! statuses of the texts the product sent, from either API: `/webhooks/message-status`
//! (Messages, JWT) and `/webhooks/delivery-receipt` (SMS API, `sig`), recorded by
//! `shared::domain::delivery`.

mod settings;

pub use settings::Settings;

use std::collections::HashMap;

use lambda_http::{Body, Request, Response};
use shared::config::SmsConfig;
use shared::domain::delivery;
use shared::domain::relay::{self, Relay, RelayStore};
pub use shared::domain::relay::{Inbound, OPT_IN, OPT_OUT, Outcome, RelayError};
use shared::hook::Hooks;
use shared::http::{empty_response, webhook_fields};
use shared::phone::{Msisdn, mask};
use shared::ports::{AccessCodes, SmsSender, TextLedger};
use shared::problem::ApiError;
use shared::signature::WebhookAuth;
use shared::sms_signature::SmsVerifier;
use shared::store::Store;
use shared::vonage::VonageClient;

/// What the SMS webhook needs: the route reader, SMS ledger and leases (`Store` in the stack,
/// an in-memory fake in handler tests), an SMS sender, the signature check and the settings.
pub struct Deps<S = Store, V = VonageClient> {
    pub store: S,
    pub vonage: V,
    /// The SMS API's `sig`; `None` only with `WEBHOOK_SIGNATURES=off`.
    pub auth: Option<SmsVerifier>,
    /// The Messages API's signed webhooks (JWT with the signature secret).
    pub jwt: WebhookAuth,
    pub sms: SmsConfig,
    /// The backend's out-of-session and intercept hooks, where configured.
    pub hooks: Hooks,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 10 s Lambda timeout:
/// past it the request gets a `503` with `Retry-After` rather than a Lambda timeout.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

pub async fn handle<S, V>(deps: &Deps<S, V>, req: Request) -> Response<Body>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    let path = shared::http::path(&req);
    if path.ends_with("/inbound-message") {
        return inbound_message(deps, &req).await;
    }
    if path.ends_with("/message-status") {
        return message_status(deps, &req).await;
    }
    if path.ends_with("/delivery-receipt") {
        return delivery_receipt(deps, &req).await;
    }
    let Signed { fields, now } = match sms_api_fields(deps, &req, "inbound SMS").await {
        Ok(Some(signed)) => signed,
        Ok(None) => return empty_response(200),
        Err(refused) => return refused.into_response(),
    };
    match parse(&fields) {
        Ok(inbound) => relayed(deps, &inbound, now).await,
        Err(e) => e.into_response(),
    }
}

/// An SMS API webhook's fields (query, form or JSON) with their `sig` checked, and when: `None`
/// for a bare `GET`, Vonage's check of the URL when it is set (answered `200`), or the answer
/// refusing the request.
async fn sms_api_fields<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    what: &str,
) -> Result<Option<Signed>, ApiError> {
    if !matches!(req.method().as_str(), "GET" | "POST") {
        return Err(ApiError::MethodNotAllowed(req.method().to_string()));
    }
    let Some(fields) = webhook_fields(req) else {
        return Err(ApiError::InvalidRequest(
            "the body is neither a form nor a JSON object".into(),
        ));
    };
    if fields.is_empty() {
        return Ok(None);
    }
    let now = shared::now();
    if let Some(verifier) = &deps.auth
        && let Err(e) = verifier.check(&fields, now).await
    {
        tracing::warn!(error = %e, "unsigned or forged {what} refused");
        return Err(ApiError::SmsUnauthorized(e));
    }
    Ok(Some(Signed { fields, now }))
}

/// An SMS API webhook's fields, their signature checked at `now`.
struct Signed {
    fields: HashMap<String, String>,
    now: i64,
}

/// A Messages API webhook: a `POST` whose JWT is checked against its body before anything is
/// read; when it was checked, or the answer refusing it.
async fn messages_api_checked<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    what: &str,
) -> Result<i64, ApiError> {
    if req.method().as_str() != "POST" {
        return Err(ApiError::MethodNotAllowed(req.method().to_string()));
    }
    let now = shared::now();
    if let Err(e) = deps.jwt.check(req, now).await {
        tracing::warn!(error = %e, "unsigned or forged {what} refused");
        return Err(ApiError::Unauthorized(e));
    }
    Ok(now)
}

/// `POST /webhooks/inbound-message`: a text in the Messages API's format (`inboundMessageSMS`),
/// its JWT checked against the body before anything is read.
async fn inbound_message<S, V>(deps: &Deps<S, V>, req: &Request) -> Response<Body>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    let now = match messages_api_checked(deps, req, "inbound message").await {
        Ok(now) => now,
        Err(refused) => return refused.into_response(),
    };
    let message: InboundMessage = match shared::http::read_json(req) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    // An application's messages webhook may carry other channels; none is this product's.
    if message.channel != "sms" {
        tracing::info!(channel = %message.channel, "inbound message on another channel ignored");
        return empty_response(200);
    }
    match message.inbound() {
        Ok(inbound) => relayed(deps, &inbound, now).await,
        Err(e) => e.into_response(),
    }
}

/// `POST /webhooks/message-status`: a status of a text the product sent through the Messages
/// API (`messageStatusSMS`), its JWT checked against the body before anything is read.
async fn message_status<S: TextLedger, V>(deps: &Deps<S, V>, req: &Request) -> Response<Body> {
    let now = match messages_api_checked(deps, req, "message status").await {
        Ok(now) => now,
        Err(refused) => return refused.into_response(),
    };
    let body: MessageStatus = match shared::http::read_json(req) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let code = body.error.and_then(|e| e.title);
    let status = delivery::Status::from_messages(&body.message_uuid, &body.status, code);
    recorded(deps, status, now).await
}

/// `/webhooks/delivery-receipt`: an SMS API delivery receipt (`DeliveryReceipt`), in any of the
/// encodings the SMS API uses, its `sig` checked like an inbound SMS's.
async fn delivery_receipt<S: TextLedger, V>(deps: &Deps<S, V>, req: &Request) -> Response<Body> {
    let Signed { fields, now } = match sms_api_fields(deps, req, "delivery receipt").await {
        Ok(Some(signed)) => signed,
        Ok(None) => return empty_response(200),
        Err(refused) => return refused.into_response(),
    };
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let status = delivery::Status::from_receipt(
        get("messageId"),
        get("status"),
        Some(get("err-code").to_owned()).filter(|c| !c.is_empty()),
    );
    recorded(deps, status, now).await
}

/// Records a status (one the product does not track is acknowledged and dropped): `204` once
/// recorded or seen before, `503` (which Vonage retries) when the store could not be written.
async fn recorded<S: TextLedger, V>(
    deps: &Deps<S, V>,
    status: Option<delivery::Status>,
    now: i64,
) -> Response<Body> {
    let Some(status) = status else {
        return empty_response(204);
    };
    let id = status.message_id.trim();
    if id.is_empty() || id.len() > 64 {
        return ApiError::InvalidRequest("the message id is missing".into()).into_response();
    }
    match delivery::record(&deps.store, &status, now).await {
        Ok(moved) => {
            tracing::info!(message_id = %id, state = status.state.as_str(), moved, "text status recorded");
            empty_response(204)
        }
        Err(e) => {
            tracing::error!(message_id = %id, error = %e, "text status not recorded");
            ApiError::StoreUnavailable(e).into_response()
        }
    }
}

/// The fields of `messages-v1-sms.yml`'s `messageStatusSMS` the product reads.
#[derive(Debug, serde::Deserialize)]
struct MessageStatus {
    message_uuid: String,
    status: String,
    #[serde(default)]
    error: Option<StatusError>,
}

#[derive(Debug, serde::Deserialize)]
struct StatusError {
    /// Vonage's error code (`1000`, say).
    #[serde(default)]
    title: Option<String>,
}

/// The fields of `messages-v1-sms.yml`'s `inboundMessageSMS` the relay reads.
#[derive(Debug, serde::Deserialize)]
pub struct InboundMessage {
    pub channel: String,
    pub message_uuid: String,
    pub to: String,
    pub from: String,
    #[serde(default)]
    pub text: String,
}

impl InboundMessage {
    /// The message as the relay takes it. The Messages API joins a long text's parts itself.
    pub fn inbound(&self) -> Result<Inbound, ApiError> {
        let number = |name: &str, value: &str| {
            Msisdn::from_digits(value).ok_or_else(|| {
                ApiError::InvalidRequest(format!("{name} is not a phone number: {}", mask(value)))
            })
        };
        let id = self.message_uuid.trim();
        if id.is_empty() || id.len() > 64 {
            return Err(ApiError::InvalidRequest("message_uuid is missing".into()));
        }
        Ok(Inbound {
            sender: number("from", &self.from)?,
            proxy: number("to", &self.to)?,
            message_id: id.to_owned(),
            text: self.text.clone(),
            concat: None,
            binary: false,
        })
    }
}

/// Relays `inbound` and answers Vonage: `200` once it is handled, `503` (which Vonage retries)
/// when it could not be.
async fn relayed<S, V>(deps: &Deps<S, V>, inbound: &Inbound, now: i64) -> Response<Body>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    match relay(deps, inbound, now).await {
        Ok(outcome) => {
            tracing::info!(
                ?outcome,
                message_id = %inbound.message_id,
                from = %inbound.sender.masked(),
                to = %inbound.proxy.masked(),
                length = inbound.text.chars().count(),
                "inbound SMS handled"
            );
            empty_response(200)
        }
        // Not acknowledged (a 503, which Vonage retries), so it is delivered again later.
        Err(e) => {
            tracing::error!(message_id = %inbound.message_id, error = %e, "inbound SMS not relayed");
            match e {
                RelayError::Vonage(v) => ApiError::VonageUnavailable(v).into_response(),
                RelayError::Store(s) => ApiError::StoreUnavailable(s).into_response(),
            }
        }
    }
}

/// Reads the fields `sms.yml`'s `InboundMessage` defines.
pub fn parse(fields: &HashMap<String, String>) -> Result<Inbound, ApiError> {
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let number = |name: &str| {
        Msisdn::from_digits(get(name)).ok_or_else(|| {
            ApiError::InvalidRequest(format!("{name} is not a phone number: {}", mask(get(name))))
        })
    };
    let sender = number("msisdn")?;
    let proxy = number("to")?;
    let message_id = get("messageId").trim();
    if message_id.is_empty() || message_id.len() > 64 {
        return Err(ApiError::InvalidRequest("messageId is missing".into()));
    }
    let concat = if get("concat") == "true" {
        let n = |name: &str| {
            get(name)
                .parse::<u32>()
                .ok()
                .filter(|v| (1..=255).contains(v))
                .ok_or_else(|| ApiError::InvalidRequest(format!("{name} is not a part count")))
        };
        let (part, total) = (n("concat-part")?, n("concat-total")?);
        let reference = get("concat-ref");
        if part > total || reference.is_empty() {
            return Err(ApiError::InvalidRequest(
                "concat-ref, concat-part and concat-total do not describe a part".into(),
            ));
        }
        Some((reference.to_owned(), part, total))
    } else {
        None
    };
    Ok(Inbound {
        sender,
        proxy,
        message_id: message_id.to_owned(),
        text: get("text").to_owned(),
        concat,
        binary: get("type") == "binary",
    })
}

/// Relays one inbound message at `now`.
pub async fn relay<S, V>(deps: &Deps<S, V>, m: &Inbound, now: i64) -> Result<Outcome, RelayError>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    let relay = Relay {
        store: &deps.store,
        vonage: &deps.vonage,
        sms: &deps.sms,
        hooks: &deps.hooks,
    };
    relay::relay(&relay, m, now).await
}

impl<S, V> shared::runtime::Handler for Deps<S, V>
where
    S: RelayStore + AccessCodes,
    V: SmsSender,
{
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
