//! The event webhook's handler on the in-memory call log: no server needed. The same behaviour
//! against the real local DynamoDB-API server is in `webhook.rs` and `faults.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use event::{Deps, handle};
use lambda_http::{Body, Request};
use serde_json::json;
use shared::model::{ConversationStatus, Interaction};
use shared::signature::WebhookAuth;
use testkit::conversation;
use testkit::fakes::MemoryStore;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-000000000002";

fn deps() -> Deps<MemoryStore> {
    let now = shared::now();
    Deps {
        store: MemoryStore::with([conversation(ID, (A, PA), (B, PB), now, now + 3600)]),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        missed: Default::default(),
        timers: None,
    }
}

fn event(leg: &str, status: &str, second: u32) -> Request {
    let (from, to, direction, uuid) = match leg {
        "in" => (A, PA, "inbound", "leg-in"),
        _ => (PB, B, "outbound", "leg-out"),
    };
    let body = json!({
        "from": from, "to": to, "uuid": uuid, "conversation_uuid": "CON-1",
        "status": status, "direction": direction,
        "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
    });
    http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn each_event_is_kept_once_and_the_first_answer_starts_the_conversation() {
    let deps = deps();
    let first = deps.store.requests();
    assert_eq!(handle(&deps, event("in", "started", 0)).await.status(), 204);
    // Matched through the caller's route, remembered, kept, activity noted.
    assert_eq!(deps.store.requests() - first, 6);
    let before = deps.store.requests();
    assert_eq!(
        handle(&deps, event("out", "ringing", 1)).await.status(),
        204
    );
    // Later events find the call by its id.
    assert_eq!(deps.store.requests() - before, 4);
    for (leg, status, second) in [
        ("out", "answered", 3),
        ("in", "answered", 3),
        ("out", "answered", 3),
        ("out", "completed", 30),
        ("in", "completed", 31),
    ] {
        assert_eq!(
            handle(&deps, event(leg, status, second)).await.status(),
            204
        );
    }
    let kept = deps.store.events(ID);
    assert_eq!(kept.len(), 6, "the repeated answered event is one record");
    let calls = Interaction::fold(&kept);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, "completed");
    assert_eq!(calls[0].caller_index, 0);
    assert_eq!(
        deps.store.conversation_now(ID).unwrap().status,
        ConversationStatus::InProgress
    );
}

#[tokio::test]
async fn a_store_that_fails_gets_a_503_vonage_retries_and_the_retry_is_kept() {
    let deps = deps();
    deps.store.fail(true);
    let refused = handle(&deps, event("in", "started", 0)).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(deps.store.events(ID).is_empty());

    deps.store.fail(false);
    assert_eq!(handle(&deps, event("in", "started", 0)).await.status(), 204);
    assert_eq!(deps.store.events(ID).len(), 1);
}

#[tokio::test]
async fn an_event_for_a_call_nobody_knows_is_acknowledged_and_kept_nowhere() {
    let deps = deps();
    let stranger = http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(
            json!({"from": "447700900999", "to": PA, "uuid": "x", "conversation_uuid": "CON-9",
                   "status": "started", "direction": "inbound"})
            .to_string(),
        ))
        .unwrap();
    assert_eq!(handle(&deps, stranger).await.status(), 204);
    assert!(deps.store.events(ID).is_empty());
}

#[tokio::test]
async fn the_callees_leg_names_the_number_their_phone_showed_for_number_health() {
    let deps = deps();
    for (leg, status, second) in [
        ("in", "started", 0),
        ("out", "ringing", 1),
        ("out", "answered", 3),
    ] {
        assert_eq!(
            handle(&deps, event(leg, status, second)).await.status(),
            204
        );
    }
    let kept = deps.store.events(ID);
    assert_eq!(kept.len(), 3);
    for e in kept {
        let expected = match e.direction {
            // The callee (participant 1) sees their own proxy number as caller ID.
            Some(shared::model::Direction::Outbound) => Some(PB),
            _ => None,
        };
        assert_eq!(
            e.shown_number.as_ref().map(|n| n.as_str()),
            expected,
            "{e:?}"
        );
    }
}
