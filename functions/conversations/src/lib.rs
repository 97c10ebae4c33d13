//! The conversations API: `POST /conversations`, `GET /conversations`, `GET` and
//! `DELETE /conversations/{id}`, `POST /conversations/{id}/reopen`, and
//! `POST /conversations/{id}/calls` (click-to-call).

pub mod calls;
pub mod create;
pub mod view;

mod settings;

pub use settings::Settings;

use lambda_http::{Body, Request, RequestExt, Response};
use shared::config::ConversationConfig;
use shared::domain::conversation::{self, ClosePolicy, Reopened};
use shared::http::{json_response, read_json};
use shared::model::{CloseOutcome, ListFilter};
use shared::model::{CloseReason, Conversation, ConversationStatus, Interaction};
use shared::phone::Msisdn;
use shared::ports::{
    CallLog, CallStarter, Conversations, InsightCache, Leases, NumberChecker, NumberInventory,
    Pool, SmsLedger, TextLedger,
};
use shared::problem::ApiError;
use shared::store::Store;
use shared::values::ConversationId;
use shared::vonage::{VoiceClient, VonageClient};

use crate::calls::Calls;
use crate::create::Answer;
use crate::view::{ConversationView, ListView};

/// What the conversations API needs: conversations, the pool and leases (`Store` in the stack,
/// an in-memory fake in handler tests), Number Insight, SMS and the number inventory (the Vonage
/// client, or a fake), and the settings.
pub struct Deps<S = Store, V = VonageClient, C = VoiceClient> {
    pub store: S,
    pub vonage: V,
    pub conversations: ConversationConfig,
    /// The Vonage application rented numbers are linked to (needed only with auto-rent).
    pub application_id: Option<String>,
    /// Click-to-call: the Voice API and what a connect says; `None` where the application's
    /// key is not in the secret yet (`503 vonage_unavailable` then).
    pub calls: Option<Calls<C>>,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 20 s Lambda timeout:
/// past it the request gets a `503` with `Retry-After` rather than a Lambda timeout.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(18);

pub const DEFAULT_PAGE: i32 = 25;
pub const MAX_PAGE: i32 = 100;

/// The ports the conversations API uses of the store, and of Vonage.
/// What the conversations API needs of the store.
pub trait StorePorts:
    Conversations + CallLog + SmsLedger + Pool + Leases + InsightCache + TextLedger
{
}
impl<T: Conversations + CallLog + SmsLedger + Pool + Leases + InsightCache + TextLedger> StorePorts
    for T
{
}
pub trait VonagePorts: NumberChecker + NumberInventory {}
impl<T: NumberChecker + NumberInventory> VonagePorts for T {}

pub async fn handle<S: StorePorts, V: VonagePorts, C: CallStarter>(
    deps: &Deps<S, V, C>,
    req: Request,
) -> Response<Body> {
    match route(deps, &req).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn route<S: StorePorts, V: VonagePorts, C: CallStarter>(
    deps: &Deps<S, V, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let path = shared::http::path(req);
    let method = req.method().as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["conversations"]) => {
            let body = read_json(req)?;
            match create::create(deps, body).await? {
                Answer::New(view) => Ok(json_response(201, &view)),
                Answer::Existing(view) => Ok(json_response(200, &view)),
            }
        }
        ("GET", ["conversations"]) => list(deps, req).await,
        ("GET", ["conversations", id]) => {
            let c = find(deps, id).await?;
            let (events, messages, recordings) = tokio::join!(
                deps.store.call_events(&c.id),
                deps.store.messages(&c.id),
                deps.store.recordings(&c.id)
            );
            let (events, messages, recordings) = (events?, messages?, recordings?);
            let texts = deps
                .store
                .texts(&ConversationView::sent_texts(&c, &messages))
                .await?;
            let view = ConversationView::at(&c, shared::now())
                .with_calls(&c, &Interaction::fold(&events), &recordings)
                .with_messages(&c, &messages)
                .with_deliveries(&c, &messages, &texts);
            Ok(json_response(200, &view))
        }
        ("DELETE", ["conversations", id]) => {
            let id = conversation_id(id)?;
            let now = shared::now();
            let policy = ClosePolicy::from(&deps.conversations);
            match conversation::close(&deps.store, &id, CloseReason::Closed, now, policy).await? {
                None => Err(not_found()),
                Some(CloseOutcome::Closed(c)) => {
                    tracing::info!(conversation_id = %c.id, "conversation closed");
                    Ok(json_response(200, &ConversationView::at(&c, now)))
                }
                Some(CloseOutcome::AlreadyClosed(c)) => {
                    Ok(json_response(200, &ConversationView::at(&c, now)))
                }
            }
        }
        ("POST", ["conversations", id, "reopen"]) => {
            let id = conversation_id(id)?;
            let ttl = reopen_ttl(&deps.conversations, req)?;
            let now = shared::now();
            let policy = ClosePolicy::from(&deps.conversations);
            let view = |c: &Conversation| json_response(200, &ConversationView::at(c, now));
            Ok(
                match conversation::reopen(&deps.store, &id, ttl, now, policy).await? {
                    Reopened::Reopened(c) | Reopened::AlreadyOpen(c) => view(&c),
                },
            )
        }
        ("POST", ["conversations", id, "calls"]) => calls::start(deps, req, id).await,
        (
            _,
            ["conversations"]
            | ["conversations", _]
            | ["conversations", _, "reopen"]
            | ["conversations", _, "calls"],
        ) => Err(ApiError::MethodNotAllowed(method.to_owned())),
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

/// `POST /conversations/{id}/reopen`'s optional body: `{"ttl_seconds": N}`, within the
/// configured bounds; no body reopens for the default TTL.
fn reopen_ttl(settings: &ConversationConfig, req: &Request) -> Result<i64, ApiError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct ReopenRequest {
        #[serde(default)]
        ttl_seconds: Option<u64>,
    }
    let body: ReopenRequest = if shared::request::body_bytes(req).is_empty() {
        ReopenRequest::default()
    } else {
        read_json(req)?
    };
    Ok(create::ttl_within(settings, body.ttl_seconds)? as i64)
}

fn not_found() -> ApiError {
    ApiError::NotFound("no conversation with this id".into())
}

/// Conversation ids are UUIDs; anything else cannot name one.
fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::from_uuid(raw).ok_or_else(not_found)
}

async fn find<S: StorePorts, V, C>(
    deps: &Deps<S, V, C>,
    raw_id: &str,
) -> Result<Conversation, ApiError> {
    let id = conversation_id(raw_id)?;
    deps.store.conversation(&id).await?.ok_or_else(not_found)
}

async fn list<S: StorePorts, V, C>(
    deps: &Deps<S, V, C>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let q = req.query_string_parameters();
    let status = match q.first("status") {
        None => None,
        Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
            ApiError::InvalidRequest("status must be active, in-progress or closed".into())
        })?),
    };
    let number = |name: &str| match q.first(name) {
        None => Ok(None),
        Some(p) => Msisdn::parse(p)
            .map(Some)
            .map_err(|e| ApiError::InvalidNumber(format!("{name}: {e}"))),
    };
    let (participant, proxy_number) = (number("participant")?, number("proxy_number")?);
    let limit = match q.first("limit") {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| ApiError::InvalidRequest(format!("limit must be 1 to {MAX_PAGE}")))?,
    };
    let filter = ListFilter {
        status,
        participant,
        proxy_number,
    };
    let page = deps
        .store
        .list_conversations(&filter, limit, q.first("cursor"))
        .await?;
    let now = shared::now();
    Ok(json_response(
        200,
        &ListView {
            conversations: page
                .items
                .iter()
                .map(|c| ConversationView::at(c, now))
                .collect(),
            next_cursor: page.next_cursor,
        },
    ))
}

impl<S: StorePorts, V: VonagePorts, C: CallStarter> shared::runtime::Handler for Deps<S, V, C> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
