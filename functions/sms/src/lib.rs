//! The inbound-SMS webhook (`/webhooks/inbound-sms`): a text from a participant's real number to
//! their proxy number is sent on to the other participant from the other's proxy number, through
//! the same route a call takes. Nothing is relayed for an unknown sender, a closed or expired
//! conversation or one without texts; opt-out keywords are honoured; a message Vonage delivers
//! twice is relayed once; a concatenated message is relayed once, whole. Message text is never
//! logged.

use std::collections::HashMap;

use lambda_http::{Body, Request, Response};
use shared::config::SmsConfig;
use shared::http::{empty_response, webhook_fields};
use shared::model::Route;
use shared::phone::{Msisdn, mask};
use shared::problem::{ApiError, error_chain};
use shared::sms_signature::SmsVerifier;
use shared::store::{MessagePart, RelayedMessage, Store, StoreError};
use shared::vonage::{VonageClient, VonageError};

pub struct Deps {
    pub store: Store,
    pub vonage: VonageClient,
    /// `None` only with `WEBHOOK_SIGNATURES=off`.
    pub auth: Option<SmsVerifier>,
    pub sms: SmsConfig,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 10 s Lambda timeout:
/// past it the request gets a `503` with `Retry-After` rather than a Lambda timeout.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// Keywords that stop texts to the sender, and that start them again (matched on the whole
/// message, case and surrounding space ignored).
pub const OPT_OUT: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
pub const OPT_IN: [&str; 3] = ["START", "UNSTOP", "YES"];

/// What became of one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Relayed,
    /// Seen before (Vonage retried): acknowledged, not sent again.
    Duplicate,
    /// A part of a concatenated message; the rest has not arrived.
    PartKept,
    /// No open conversation with texts for this sender and number.
    Unknown {
        replied: bool,
    },
    OptedOut {
        confirmed: bool,
    },
    OptedIn {
        confirmed: bool,
    },
    /// The other participant opted out: nothing sent.
    RecipientOptedOut,
    /// A binary message (ringtones, configuration): acknowledged, not relayed.
    Binary,
}

/// An inbound message as read from the request.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub sender: Msisdn,
    pub proxy: Msisdn,
    pub message_id: String,
    pub text: String,
    /// (reference, part, total) of a concatenated message.
    pub concat: Option<(String, u32, u32)>,
    /// `type` is `binary`: there is no text to relay.
    pub binary: bool,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    if !matches!(req.method().as_str(), "GET" | "POST") {
        return ApiError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    let Some(fields) = webhook_fields(&req) else {
        return ApiError::InvalidRequest("the body is neither a form nor a JSON object".into())
            .into_response();
    };
    // Vonage checks the URL with a bare GET when it is set on a number: answer it.
    if fields.is_empty() {
        return empty_response(200);
    }
    let now = shared::now();
    if let Some(verifier) = &deps.auth
        && let Err(e) = verifier.verify(&fields, now)
    {
        tracing::warn!(error = %e, "unsigned or forged inbound SMS refused");
        return ApiError::SmsUnauthorized(e).into_response();
    }
    let inbound = match parse(&fields) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    match relay(deps, &inbound, now).await {
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

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", error_chain(.0))]
    Vonage(VonageError),
}

fn keyword(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// Handles one inbound message at `now`.
pub async fn relay(deps: &Deps, m: &Inbound, now: i64) -> Result<Outcome, RelayError> {
    let store = &deps.store;
    if !store.claim_message(&m.message_id, now).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = relay_claimed(deps, m, now).await;
    if outcome.is_err()
        && let Err(e) = store.release_message(&m.message_id).await
    {
        tracing::error!(error = %error_chain(&e), "message claim not released; a retry will be taken for a duplicate");
    }
    outcome
}

async fn relay_claimed(deps: &Deps, m: &Inbound, now: i64) -> Result<Outcome, RelayError> {
    if m.binary {
        return Ok(Outcome::Binary);
    }
    let store = &deps.store;
    let route = store
        .get_route(&m.proxy, &m.sender)
        .await?
        .filter(|r| now < r.expires_at && r.mode.sms());

    // Opt-out and opt-in keywords are never relayed; they hold for this sender and number.
    let word = keyword(&m.text);
    if m.concat.is_none() && OPT_OUT.contains(&word.as_str()) {
        let first_time = store.opt_out(&m.sender, &m.proxy, now).await?;
        if first_time {
            send(deps, &m.proxy, &m.sender, &deps.sms.opt_out_reply, None).await?;
        }
        return Ok(Outcome::OptedOut {
            confirmed: first_time,
        });
    }
    if m.concat.is_none() && OPT_IN.contains(&word.as_str()) {
        let was_out = store.opt_in(&m.sender, &m.proxy).await?;
        if was_out {
            send(deps, &m.proxy, &m.sender, &deps.sms.opt_in_reply, None).await?;
        }
        return Ok(Outcome::OptedIn { confirmed: was_out });
    }

    let Some(route) = route else {
        return unknown_sender(deps, m, now).await;
    };

    let (text, parts) = match &m.concat {
        None => (m.text.clone(), 1),
        Some((reference, part, total)) => {
            let part = MessagePart {
                part: *part,
                total: *total,
                text: m.text.clone(),
            };
            let have = store.put_part(&m.sender, reference, &part, now).await?;
            let complete = (1..=*total).all(|i| have.iter().any(|p| p.part == i));
            if !complete || !store.claim_whole(&m.sender, reference, now).await? {
                return Ok(Outcome::PartKept);
            }
            let whole: String = (1..=*total)
                .filter_map(|i| have.iter().find(|p| p.part == i))
                .map(|p| p.text.as_str())
                .collect();
            (whole, *total)
        }
    };

    let result = deliver(deps, m, &route, &text, parts, now).await;
    if result.is_err()
        && let Some((reference, _, _)) = &m.concat
        && let Err(e) = store.release_whole(&m.sender, reference).await
    {
        tracing::error!(error = %error_chain(&e), "whole-message claim not released");
    }
    result
}

async fn deliver(
    deps: &Deps,
    m: &Inbound,
    route: &Route,
    text: &str,
    parts: u32,
    now: i64,
) -> Result<Outcome, RelayError> {
    let store = &deps.store;
    let mut record = RelayedMessage {
        message_id: m.message_id.clone(),
        from_index: route.caller_index,
        at: now,
        parts,
        status: "submitted".into(),
        outbound_id: None,
    };
    let outcome = if store.opted_out(&route.callee, &route.callee_proxy).await? {
        record.status = "opted-out".into();
        Outcome::RecipientOptedOut
    } else {
        // The recipient sees the text come from the number they use to reach the sender.
        let id = send(
            deps,
            &route.callee_proxy,
            &route.callee,
            text,
            Some(&route.conversation_id),
        )
        .await?;
        record.outbound_id = Some(id);
        Outcome::Relayed
    };
    let retain_until = route.expires_at.max(now) + deps.sms.retention_seconds;
    if let Err(e) = store
        .record_message(&route.conversation_id, &record, retain_until)
        .await
    {
        // The text went out; losing its record is better than sending it twice.
        tracing::error!(conversation_id = %route.conversation_id, error = %error_chain(&e), "relayed message not recorded");
    }
    Ok(outcome)
}

/// Someone texting a proxy number that has nothing for them: by default nothing happens;
/// with `SMS_UNKNOWN_REPLY` they are told, at most once an hour per sender and number.
async fn unknown_sender(deps: &Deps, m: &Inbound, now: i64) -> Result<Outcome, RelayError> {
    let Some(reply) = &deps.sms.unknown_reply else {
        return Ok(Outcome::Unknown { replied: false });
    };
    let lease = format!("autoreply-{}-{}", m.sender.as_str(), m.proxy.as_str());
    if !deps
        .store
        .acquire_lease(&lease, &m.message_id, now, 3600)
        .await?
    {
        return Ok(Outcome::Unknown { replied: false });
    }
    send(deps, &m.proxy, &m.sender, reply, None).await?;
    Ok(Outcome::Unknown { replied: true })
}

async fn send(
    deps: &Deps,
    from: &Msisdn,
    to: &Msisdn,
    text: &str,
    client_ref: Option<&str>,
) -> Result<String, RelayError> {
    deps.vonage
        .send_sms(from, to, text, client_ref)
        .await
        .map_err(RelayError::Vonage)
}

impl shared::runtime::Handler for Deps {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
