//! The recordings function on fakes in memory, played with the files in `events/`: the webhook
//! keeps the recording of a conversation with `record` (in the bucket, in the call log), the API
//! links to it; one without `record` gets nothing fetched; a failing store answers `503` for
//! Vonage to post again; an unsigned post is refused. The same against the real local servers
//! is in `recordings.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::CallLog;
use std::time::Duration;

use recordings::{Deps, handle};
use shared::domain::Retention;
use shared::signature::WebhookAuth;
use testkit::fakes::{FakeVonage, MemoryBucket, MemoryStore};
use testkit::requests::read;

const ID: &str = "5d0f1a2b-0000-4000-8000-0000000000c1";
const CALL: &str = "CON-aaaaaaaa-0000-4000-8000-000000000001";

fn load(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn deps(record: bool) -> Deps<MemoryStore, MemoryBucket, FakeVonage> {
    let now = shared::now();
    let mut c = testkit::conversation(
        ID,
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        now,
        now + 3600,
    );
    c.call.record = record;
    Deps {
        store: MemoryStore::with([c]),
        files: MemoryBucket::default(),
        voice: FakeVonage::default(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Post,
        retention: Retention { seconds: 86_400 },
        link: Duration::from_secs(300),
    }
}

#[tokio::test]
async fn the_files_in_events_keep_a_recording_and_link_to_it() {
    let deps = deps(true);
    let (status, _) = read(handle(&deps, load("recordings-webhook.json")).await);
    assert_eq!(status, 204);
    let key = format!("recordings/{ID}/{CALL}/aaaaaaaa-bbbb-cccc-dddd-0123456789ab.mp3");
    let objects = deps.files.objects();
    assert_eq!(objects.keys().collect::<Vec<_>>(), [&key]);
    let kept = deps.store.recordings(&ID.parse().unwrap()).await.unwrap();
    assert_eq!(kept[0].size, Some(objects[&key].len() as i64));

    let (status, link) = read(handle(&deps, load("recordings-link.json")).await);
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["url"], format!("memory://{key}?expires=300"));
    assert_eq!(link["kind"], "call");
    assert!(link["expires_at"].is_string());
}

#[tokio::test]
async fn nothing_is_fetched_for_a_conversation_that_does_not_record() {
    let deps = deps(false);
    let (status, _) = read(handle(&deps, load("recordings-webhook.json")).await);
    assert_eq!(status, 204);
    assert!(deps.voice.requests().is_empty(), "not fetched");
    assert!(deps.files.objects().is_empty());
    let (status, problem) = read(handle(&deps, load("recordings-link.json")).await);
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn a_failing_store_or_vonage_is_a_503_and_an_unsigned_post_is_refused() {
    let deps = deps(true);
    deps.store.fail(true);
    let (status, _) = read(handle(&deps, load("recordings-webhook.json")).await);
    assert_eq!(status, 503);
    deps.store.fail(false);
    deps.voice.fail("recording", true);
    let (status, _) = read(handle(&deps, load("recordings-webhook.json")).await);
    assert_eq!(status, 503, "Vonage posts it again");
    assert!(deps.files.objects().is_empty());

    let signed = Deps {
        auth: WebhookAuth::Required(shared::signature::Verifier::new(
            "secret".to_owned().into(),
            None,
            300,
        )),
        ..deps
    };
    let (status, problem) = read(handle(&signed, load("recordings-webhook.json")).await);
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let mut get = load("recordings-webhook.json");
    *get.method_mut() = http::Method::GET;
    let (status, _) = read(handle(&signed, get).await);
    assert_eq!(
        status, 405,
        "POST only, so the signature covers every field"
    );
}
