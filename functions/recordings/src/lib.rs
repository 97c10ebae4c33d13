//! Recordings of calls, for conversations created with `"call": {"record": true}`:
//!
//! - `POST /webhooks/recording?conversation_id=..[&kind=voicemail]`, the `record` action's
//!   event URL (signed like every Vonage webhook): Vonage's recording is fetched with the
//!   application's token, kept in the stack's bucket (encrypted, never public, expiring with the
//!   conversation's retention) and listed in the conversation's call log. Nothing is fetched or
//!   kept for a conversation without `record`.
//! - `GET /conversations/{id}/calls/{call_id}/recording` (management API): a short-lived
//!   presigned link that downloads it.

mod settings;

pub use settings::Settings;

use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::config::WebhookMethods;
use shared::domain::Retention;
use shared::files::Bucket;
use shared::http::{empty_response, json_response};
use shared::model::{CallRecording, RecordingKind};
use shared::ports::{CallLog, Conversations, RecordingFiles, RecordingSource};
use shared::problem::{ApiError, error_chain};
use shared::signature::{Signed, WebhookAuth};
use shared::store::Store;
use shared::values::ConversationId;
use shared::vonage::VoiceClient;

pub struct Deps<S = Store, F = Bucket, V = VoiceClient> {
    pub store: S,
    pub files: F,
    /// Fetches Vonage's recordings with the application's token.
    pub voice: V,
    pub auth: WebhookAuth,
    /// `post` in the deployed stack.
    pub methods: WebhookMethods,
    /// Recordings are listed as long as their conversation is kept.
    pub retention: Retention,
    /// How long a link to a recording works (`RECORDING_LINK_SECONDS`).
    pub link: Duration,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 30 s Lambda timeout: a
/// recording of some megabytes is fetched and written within it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

/// What became of a recording Vonage posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Stored,
    /// The conversation does not allow recording (or is gone): nothing fetched or kept.
    NotRecorded,
}

pub async fn handle<S, F, V>(deps: &Deps<S, F, V>, req: Request) -> Response<Body>
where
    S: CallLog + Conversations,
    F: RecordingFiles,
    V: RecordingSource,
{
    match route(deps, &req).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn route<S, F, V>(deps: &Deps<S, F, V>, req: &Request) -> Result<Response<Body>, ApiError>
where
    S: CallLog + Conversations,
    F: RecordingFiles,
    V: RecordingSource,
{
    let path = shared::http::path(req);
    let method = req.method().as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (_, ["webhooks", "recording"]) => {
            ApiError::unless_allowed(deps.methods, req.method())?;
            deps.auth.check(req, shared::now()).await.map_err(|e| {
                tracing::warn!(error = %e, "unsigned or forged recording webhook refused");
                shared::telemetry::count("WebhookRefused", &[]);
                ApiError::Unauthorized(e)
            })?;
            keep(deps, req, shared::now()).await?;
            Ok(empty_response(204))
        }
        ("GET", ["conversations", id, "calls", call_id, "recording"]) => {
            let view = link(deps, id, call_id, shared::now()).await?;
            Ok(json_response(200, &view))
        }
        (_, ["conversations", _, "calls", _, "recording"]) => {
            Err(ApiError::MethodNotAllowed(method.to_owned()))
        }
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

/// Keeps the recording a `record` event names: fetched from Vonage, written to the bucket at
/// `recordings/{conversation}/{call}/{recording}.mp3`, listed in the call log until the
/// conversation's retention ends. The same event again writes the same object and record.
/// A store, bucket or Vonage that fails for now is a `503`, so Vonage posts it again.
pub async fn keep<S, F, V>(deps: &Deps<S, F, V>, req: &Request, now: i64) -> Result<Kept, ApiError>
where
    S: CallLog + Conversations,
    F: RecordingFiles,
    V: RecordingSource,
{
    let Signed { fields, carried } = deps
        .auth
        .read(req)
        .map_err(|e| ApiError::unreadable_webhook(e, "recording event"))?;
    let carried = carried.unwrap_or_default();
    let id = carried
        .conversation_id
        .as_deref()
        .and_then(ConversationId::from_uuid)
        .ok_or_else(|| {
            ApiError::InvalidRequest("conversation_id is missing or not an id".into())
        })?;
    let kind = match carried.kind.as_deref() {
        Some("voicemail") => RecordingKind::Voicemail,
        _ => RecordingKind::Call,
    };
    let token = |name: &str| {
        fields
            .get(name)
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
            })
            .cloned()
            .ok_or_else(|| ApiError::InvalidRequest(format!("{name} is missing or not an id")))
    };
    let (call_id, recording_id) = (token("conversation_uuid")?, token("recording_uuid")?);
    let url = fields
        .get("recording_url")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("recording_url is missing".into()))?;

    let conversation = deps
        .store
        .conversation(&id)
        .await
        .map_err(ApiError::StoreUnavailable)?;
    let Some(conversation) = conversation.filter(|c| c.call.record) else {
        tracing::warn!(conversation_id = %id, call_id, "a recording of a conversation that does not record calls: not fetched");
        return Ok(Kept::NotRecorded);
    };
    let download = match deps.voice.download(url).await {
        Ok(download) => download,
        Err(e) if e.is_transient() => return Err(ApiError::VonageUnavailable(e)),
        Err(e) => {
            // Fetching it again would fail the same way: acknowledged, and said in the log.
            tracing::error!(conversation_id = %id, call_id, error = %error_chain(&e), "the recording could not be fetched");
            return Ok(Kept::NotRecorded);
        }
    };
    let recording = CallRecording {
        key: format!("recordings/{id}/{call_id}/{recording_id}.mp3"),
        call_id,
        recording_id,
        kind,
        size: Some(i64::try_from(download.size).unwrap_or(i64::MAX)),
        started_at: fields.get("start_time").cloned(),
        ended_at: fields.get("end_time").cloned(),
        stored_at: now,
    };
    if let Err(e) = deps.files.put(&recording.key, download, "audio/mpeg").await {
        tracing::error!(conversation_id = %id, error = %error_chain(&e), "the recording could not be written; Vonage posts it again");
        return Err(ApiError::Unavailable);
    }
    deps.store
        .keep_recording(
            &id,
            &recording,
            deps.retention.until(conversation.expires_at, now),
        )
        .await
        .map_err(ApiError::StoreUnavailable)?;
    tracing::info!(conversation_id = %id, call_id = %recording.call_id, kind = ?kind, size = recording.size, "recording kept");
    Ok(Kept::Stored)
}

/// A link to a call's recording.
#[derive(Debug, Serialize)]
pub struct LinkView {
    pub url: String,
    pub expires_at: String,
    pub recording_id: String,
    pub kind: RecordingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

/// A presigned link to call `call_id`'s recording (the call itself, else a voicemail).
pub async fn link<S, F, V>(
    deps: &Deps<S, F, V>,
    id: &str,
    call_id: &str,
    now: i64,
) -> Result<LinkView, ApiError>
where
    S: CallLog + Conversations,
    F: RecordingFiles,
{
    let not_found = || ApiError::NotFound("no recording of this call".into());
    let id = ConversationId::from_uuid(id).ok_or_else(not_found)?;
    let recordings = deps
        .store
        .recordings(&id)
        .await
        .map_err(ApiError::StoreUnavailable)?;
    let recording = recordings
        .into_iter()
        .filter(|r| r.call_id == call_id)
        .min_by_key(|r| {
            (
                r.kind != RecordingKind::Call,
                std::cmp::Reverse(r.stored_at),
            )
        })
        .ok_or_else(not_found)?;
    let url = deps
        .files
        .link(&recording.key, deps.link)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(LinkView {
        url,
        expires_at: shared::rfc3339(now + deps.link.as_secs() as i64),
        recording_id: recording.recording_id,
        kind: recording.kind,
        size: recording.size,
    })
}

impl<S: CallLog + Conversations, F: RecordingFiles, V: RecordingSource> shared::runtime::Handler
    for Deps<S, F, V>
{
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
