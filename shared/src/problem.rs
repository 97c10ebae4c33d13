//! `application/problem+json` (RFC 9457) errors with a stable `code`: the one place where an error
//! becomes an HTTP response.

use lambda_http::{Body, Response};
use serde::Serialize;

/// The media type of every error answer.
pub const CONTENT_TYPE_PROBLEM: &str = "application/problem+json";

/// Every error the HTTP surface can answer with. The `code` of each is part of the API contract.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidNumber(String),
    #[error("both participants have the same number")]
    SameParticipant,
    #[error("{0}")]
    NumberNotValid(String),
    #[error("{0}")]
    PoolExhausted(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    DuplicateNumber(String),
    #[error("{0}")]
    NumberInUse(String),
    #[error("{0}")]
    ConversationClosed(String),
    /// The participant a call would ring is inside their quiet hours.
    #[error("{0}")]
    QuietHours(String),
    #[error("the request is not signed by Vonage: {0}")]
    Unauthorized(#[source] crate::signature::SignatureError),
    #[error("the text is not signed by Vonage: {0}")]
    SmsUnauthorized(#[source] crate::sms_signature::SmsSignatureError),
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// A webhook that takes `POST` only (`WEBHOOK_METHODS=post`) got another method.
    #[error(
        "{0} is not accepted here: this webhook takes POST only, so that its signature covers every field"
    )]
    PostOnly(String),
    #[error("a Vonage API did not answer correctly")]
    VonageUnavailable(#[source] crate::vonage::VonageError),
    /// Vonage answered, and refused what was asked (a `4xx` that a retry would not change).
    #[error("Vonage refused the request")]
    VonageRefused(#[source] crate::vonage::VonageError),
    /// The store throttled, timed out or conflicted after bounded retries.
    #[error("the store is unavailable")]
    StoreUnavailable(#[source] crate::model::StoreError),
    /// The request ran out of its time budget.
    #[error("the request did not finish in time")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    pub code: &'static str,
}

impl ApiError {
    /// A signed webhook that could not be read (`what` names it in the log): `400 invalid_json`
    /// for a body that is neither JSON nor a form, `401` for a broken sealed parameter.
    pub fn unreadable_webhook(e: crate::signature::ReadError, what: &str) -> Self {
        match e {
            crate::signature::ReadError::Unreadable => {
                Self::InvalidJson(format!("the {what} is not JSON or a form"))
            }
            crate::signature::ReadError::Seal(e) => {
                tracing::warn!(error = %e, "{what} with a broken sealed parameter refused");
                Self::Unauthorized(crate::signature::SignatureError::Sealed)
            }
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// `(status, code, title)` for each variant.
    pub fn parts(&self) -> (u16, &'static str, &'static str) {
        match self {
            Self::InvalidJson(_) => (400, "invalid_json", "Malformed JSON"),
            Self::UnsupportedMediaType(_) => {
                (415, "unsupported_media_type", "Unsupported media type")
            }
            Self::PayloadTooLarge(_) => (413, "payload_too_large", "Payload too large"),
            Self::InvalidRequest(_) => (400, "invalid_request", "Invalid request"),
            Self::InvalidNumber(_) => (400, "invalid_number", "Invalid phone number"),
            Self::SameParticipant => (400, "same_participant", "Same participant twice"),
            Self::NumberNotValid(_) => (422, "number_not_valid", "Number not valid"),
            Self::PoolExhausted(_) => (409, "pool_exhausted", "No proxy number available"),
            Self::NotFound(_) => (404, "not_found", "Not found"),
            Self::Conflict(_) => (409, "conflict", "Conflict"),
            Self::DuplicateNumber(_) => (409, "duplicate_number", "Number already in the pool"),
            Self::NumberInUse(_) => (409, "number_in_use", "Number still in use"),
            Self::ConversationClosed(_) => (409, "conversation_closed", "Conversation closed"),
            Self::QuietHours(_) => (409, "quiet_hours", "Not taking calls now"),
            Self::MethodNotAllowed(_) | Self::PostOnly(_) => {
                (405, "method_not_allowed", "Method not allowed")
            }
            Self::Unauthorized(_) | Self::SmsUnauthorized(_) => {
                (401, "unauthorized", "Unauthorized")
            }
            Self::VonageUnavailable(_) => (503, "vonage_unavailable", "Vonage unavailable"),
            Self::VonageRefused(_) => (502, "vonage_refused", "Vonage refused the request"),
            Self::StoreUnavailable(_) => (503, "store_unavailable", "Store unavailable"),
            Self::Unavailable => (503, "unavailable", "Service unavailable"),
            Self::Internal(_) => (500, "internal", "Internal error"),
        }
    }

    /// The refusal of a webhook request made with a method `methods` does not take.
    pub fn unless_allowed(
        methods: crate::config::WebhookMethods,
        method: &http::Method,
    ) -> Result<(), Self> {
        use crate::config::WebhookMethods;
        match methods {
            _ if methods.allows(method.as_str()) => Ok(()),
            WebhookMethods::Post => Err(Self::PostOnly(method.to_string())),
            WebhookMethods::Any => Err(Self::MethodNotAllowed(method.to_string())),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        // 5xx details never carry internals; the cause chain goes to the log instead.
        let detail = match self {
            Self::VonageUnavailable(_) => {
                "A Vonage API is unavailable; try again later.".to_owned()
            }
            Self::VonageRefused(_) => "Vonage refused the request; nothing was changed.".to_owned(),
            Self::StoreUnavailable(_) => {
                "The data store is busy or did not answer in time; try again shortly.".to_owned()
            }
            Self::Unavailable => {
                "The request did not finish in time; try again shortly.".to_owned()
            }
            Self::Internal(_) => "The request could not be completed; try again later.".to_owned(),
            // Which check a forged request failed is for the log, not for whoever forged it.
            Self::Unauthorized(_) | Self::SmsUnauthorized(_) => "unauthorized".to_owned(),
            other => other.to_string(),
        };
        Problem {
            type_: format!("https://voice-proxy.dev/problems/{code}"),
            title,
            status,
            detail,
            code,
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let problem = self.problem();
        if problem.status >= 500 {
            tracing::error!(code = problem.code, error = %error_chain(&self), "request failed");
        } else {
            tracing::info!(
                code = problem.code,
                status = problem.status,
                "request refused"
            );
        }
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let mut builder = Response::builder()
            .status(problem.status)
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE_PROBLEM);
        match self {
            Self::MethodNotAllowed(_) => {
                builder = builder.header(http::header::ALLOW, "GET, POST, DELETE");
            }
            Self::PostOnly(_) => {
                builder = builder.header(http::header::ALLOW, "POST");
            }
            Self::StoreUnavailable(_) | Self::Unavailable | Self::VonageUnavailable(_) => {
                builder = builder.header(http::header::RETRY_AFTER, RETRY_AFTER_SECONDS);
            }
            _ => {}
        }
        builder
            .body(Body::Text(body))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

/// How long every `503` asks the client to wait before trying again.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// A store error as the API reports it: `503 store_unavailable` when the store was busy,
/// throttling or unreachable (worth a retry), a `400` for a bad cursor, else a `500`.
impl From<crate::model::StoreError> for ApiError {
    fn from(e: crate::model::StoreError) -> Self {
        match e {
            crate::model::StoreError::InvalidCursor => {
                Self::InvalidRequest("cursor is not valid".into())
            }
            e if e.is_transient() => Self::StoreUnavailable(e),
            e => Self::internal(e),
        }
    }
}

/// Why a creation failed, as the API reports it.
impl From<crate::domain::conversation::CreateError> for ApiError {
    fn from(e: crate::domain::conversation::CreateError) -> Self {
        use crate::domain::conversation::CreateError as E;
        match e {
            E::NotValid { .. } => Self::NumberNotValid(e.to_string()),
            E::NotCallable { .. } | E::ProxyNumber(_) => Self::InvalidNumber(e.to_string()),
            E::SameParticipant => Self::SameParticipant,
            E::NoTimeZone(_) => Self::InvalidRequest(e.to_string()),
            E::PoolExhausted { detail, .. } => Self::PoolExhausted(detail),
            E::ReferenceBusy => Self::Conflict(e.to_string()),
            E::Store(e) => e.into(),
            E::Vonage(e) => Self::VonageUnavailable(e),
        }
    }
}

/// Why a reopen failed, as the API reports it: a taken pair is a conflict, a proxy number no
/// longer in use leaves nothing to reopen on.
impl From<crate::domain::conversation::ReopenError> for ApiError {
    fn from(e: crate::domain::conversation::ReopenError) -> Self {
        use crate::domain::conversation::ReopenError as E;
        match e {
            E::NotFound => Self::NotFound(e.to_string()),
            E::PastRetention => Self::ConversationClosed(e.to_string()),
            E::PairTaken { .. }
            | E::CoolingOff { .. }
            | E::CodeTaken { .. }
            | E::ReferenceTaken
            | E::Busy => Self::Conflict(e.to_string()),
            E::NumberUnavailable(_) => Self::PoolExhausted(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

/// Why provisioning did not run, as the API reports it.
impl From<crate::domain::rent::ProvisionError> for ApiError {
    fn from(e: crate::domain::rent::ProvisionError) -> Self {
        use crate::domain::rent::ProvisionError as E;
        match e {
            E::Busy => Self::Conflict(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

/// Why a number was not added to the pool.
impl From<crate::domain::numbers::AddError> for ApiError {
    fn from(e: crate::domain::numbers::AddError) -> Self {
        use crate::domain::numbers::AddError as E;
        match e {
            E::Duplicate(_) => Self::DuplicateNumber(e.to_string()),
            E::Vonage(v) => Self::VonageUnavailable(v),
            E::Store(s) => s.into(),
        }
    }
}

/// Why a text was not relayed: Vonage retries an unacknowledged message, so both are `503`.
impl From<crate::domain::relay::RelayError> for ApiError {
    fn from(e: crate::domain::relay::RelayError) -> Self {
        use crate::domain::relay::RelayError as E;
        match e {
            E::Vonage(v) => Self::VonageUnavailable(v),
            E::Store(s) => Self::StoreUnavailable(s),
        }
    }
}

pub use crate::error::error_chain;
