//! Recordings end to end on real parts: the local DynamoDB-API server, S3 on the local AWS
//! stand-in, and a stand-in for Vonage's file store that serves a recording only to a request
//! carrying the application's token (RS256, verified with its public key). A recorded call's
//! `record` event stores the file; the API answers a presigned link that downloads the same
//! bytes; nothing is fetched or stored for a conversation without `record`.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::{CallLog, Conversations};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use recordings::{Deps, Kept, keep};
use serde_json::json;
use shared::domain::Retention;
use shared::files::Bucket;
use shared::model::{Conversation, RecordingKind};
use shared::signature::WebhookAuth;
use shared::store::Store;
use shared::vonage::VoiceClient;
use testkit::requests::{call, json as json_request};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const AUDIO: &[u8] = b"ID3\x04\x00 a recorded call";

/// Vonage's file store: the recording to a request signed by the application, 401 otherwise.
struct FileStore {
    public: String,
}

impl Respond for FileStore {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let token = request
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        let key = DecodingKey::from_rsa_pem(self.public.as_bytes()).unwrap();
        let valid = token.and_then(|t| {
            decode::<serde_json::Value>(t, &key, &Validation::new(Algorithm::RS256)).ok()
        });
        match valid {
            Some(t) if t.claims["application_id"] == APP && t.claims["jti"].is_string() => {
                ResponseTemplate::new(200).set_body_bytes(AUDIO.to_vec())
            }
            _ => ResponseTemplate::new(401),
        }
    }
}

struct World {
    deps: Deps<Store, Bucket, VoiceClient>,
    files: MockServer,
    recorded: Conversation,
    unrecorded: Conversation,
}

async fn world(private_key: Option<&str>) -> World {
    let (private, public) = testkit::application_key_pair();
    let files = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/files/rec-1"))
        .respond_with(FileStore { public })
        .mount(&files)
        .await;
    let store = testkit::fresh_store().await;
    testkit::add_pool(&store, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let mut recorded = testkit::conversation(
        "5d0f1a2b-0000-4000-8000-0000000000c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        now,
        now + 3600,
    );
    recorded.call.record = true;
    let unrecorded = testkit::conversation(
        "5d0f1a2b-0000-4000-8000-0000000000c2",
        ("447700900003", "447700900101"),
        ("447700900004", "447700900102"),
        now,
        now + 3600,
    );
    store.create_conversation(&recorded).await.unwrap();
    store.create_conversation(&unrecorded).await.unwrap();
    let voice = testkit::voice_client(
        "http://127.0.0.1:9",
        &format!("{}/v1/files", files.uri()),
        APP,
        private_key.unwrap_or(&private),
    );
    World {
        deps: Deps {
            store,
            files: testkit::fresh_bucket().await,
            voice,
            auth: WebhookAuth::Off,
            methods: shared::config::WebhookMethods::Any,
            retention: Retention { seconds: 86_400 },
            link: Duration::from_secs(60),
        },
        files,
        recorded,
        unrecorded,
    }
}

/// Vonage's `record` event for call `CON-1` of conversation `c`.
fn record_event(w: &World, c: &Conversation, kind: &str) -> lambda_http::Request {
    let body = json!({
        "start_time": "2026-12-03T10:00:00Z", "end_time": "2026-12-03T10:01:30Z",
        "recording_url": format!("{}/v1/files/rec-1", w.files.uri()),
        "recording_uuid": "rec-1", "size": AUDIO.len(), "conversation_uuid": "CON-1",
        "timestamp": "2026-12-03T10:01:31Z",
    });
    json_request(
        "POST",
        &format!("/webhooks/recording?conversation_id={}{kind}", c.id),
        Some(body),
    )
}

async fn objects(bucket: &Bucket) -> Vec<String> {
    let listed = bucket
        .client()
        .list_objects_v2()
        .bucket(bucket.name())
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_recorded_call_is_stored_listed_and_linked_and_nothing_else_is() {
    let w = world(None).await;
    let (status, _) = call(&w.deps, "POST", "/", None).await;
    assert_eq!(status, 404);

    // The recorded call: fetched with the application's token, stored, listed.
    let response = recordings::handle(&w.deps, record_event(&w, &w.recorded, "")).await;
    assert_eq!(response.status(), 204);
    let key = format!("recordings/{}/CON-1/rec-1.mp3", w.recorded.id);
    assert_eq!(objects(&w.deps.files).await, std::slice::from_ref(&key));
    let kept = w.deps.store.recordings(&w.recorded.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].kind, kept[0].size, kept[0].key.as_str()),
        (RecordingKind::Call, Some(AUDIO.len() as i64), key.as_str())
    );
    assert_eq!(kept[0].started_at.as_deref(), Some("2026-12-03T10:00:00Z"));

    // The same event again: the same object and record.
    let response = recordings::handle(&w.deps, record_event(&w, &w.recorded, "")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(objects(&w.deps.files).await.len(), 1);
    assert_eq!(
        w.deps.store.recordings(&w.recorded.id).await.unwrap().len(),
        1
    );

    // The link downloads the same bytes.
    let (status, link) = call(
        &w.deps,
        "GET",
        &format!("/conversations/{}/calls/CON-1/recording", w.recorded.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["kind"], "call");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.contains("X-Amz-Signature") && url.contains("X-Amz-Expires=60"),
        "{url}"
    );
    let downloaded = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&downloaded[..], AUDIO);

    // A conversation without `record`: nothing fetched, nothing stored.
    let fetched = w.files.received_requests().await.unwrap().len();
    let response = recordings::handle(&w.deps, record_event(&w, &w.unrecorded, "")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(w.files.received_requests().await.unwrap().len(), fetched);
    assert_eq!(objects(&w.deps.files).await.len(), 1);
    assert!(
        w.deps
            .store
            .recordings(&w.unrecorded.id)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, problem) = call(
        &w.deps,
        "GET",
        &format!("/conversations/{}/calls/CON-1/recording", w.unrecorded.id),
        None,
    )
    .await;
    assert_eq!((status, &problem["code"]), (404, &json!("not_found")));
    let (status, _) = call(
        &w.deps,
        "GET",
        "/conversations/not-an-id/calls/CON-1/recording",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &w.deps,
        "DELETE",
        &format!("/conversations/{}/calls/CON-1/recording", w.recorded.id),
        None,
    )
    .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_voicemail_is_kept_as_one_and_bad_events_keep_nothing() {
    let w = world(None).await;
    let response =
        recordings::handle(&w.deps, record_event(&w, &w.recorded, "&kind=voicemail")).await;
    assert_eq!(response.status(), 204);
    let kept = w.deps.store.recordings(&w.recorded.id).await.unwrap();
    assert_eq!(kept[0].kind, RecordingKind::Voicemail);

    for (body, query) in [
        (
            json!({"recording_uuid": "rec-1", "conversation_uuid": "CON-1"}),
            format!("?conversation_id={}", w.recorded.id),
        ),
        (
            json!({"recording_url": "x", "recording_uuid": "../x", "conversation_uuid": "CON-1"}),
            format!("?conversation_id={}", w.recorded.id),
        ),
        (
            json!({"recording_url": "x", "recording_uuid": "rec-2", "conversation_uuid": "CON-1"}),
            "?conversation_id=nope".to_owned(),
        ),
    ] {
        let (status, problem) = call(
            &w.deps,
            "POST",
            &format!("/webhooks/recording{query}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, &problem["code"]),
            (400, &json!("invalid_request")),
            "{problem}"
        );
    }
    assert_eq!(objects(&w.deps.files).await.len(), 1);
}

#[tokio::test]
async fn a_token_vonage_refuses_or_a_url_elsewhere_stores_nothing() {
    // Signed with another key: the file store refuses, and the recording is not kept.
    let (other, _) = testkit::application_key_pair();
    let w = world(Some(&other)).await;
    let outcome = keep(&w.deps, &record_event(&w, &w.recorded, ""), shared::now())
        .await
        .unwrap();
    assert_eq!(outcome, Kept::NotRecorded);
    assert!(objects(&w.deps.files).await.is_empty());

    let w = world(None).await;
    let elsewhere = json_request(
        "POST",
        &format!("/webhooks/recording?conversation_id={}", w.recorded.id),
        Some(
            json!({"recording_url": "https://attacker.example/v1/files/rec-1",
                    "recording_uuid": "rec-1", "conversation_uuid": "CON-1"}),
        ),
    );
    assert_eq!(
        keep(&w.deps, &elsewhere, shared::now()).await.unwrap(),
        Kept::NotRecorded
    );
    assert!(objects(&w.deps.files).await.is_empty());
    assert!(w.files.received_requests().await.unwrap().is_empty());
}
