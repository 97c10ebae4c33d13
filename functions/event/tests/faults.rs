//! Call events while the store fails: 500 events delivered at once while 30% of writes fail
//! (throttling, conflicts, internal errors, dropped connections), through the fault-injecting
//! proxy in front of the real local DynamoDB-API server. A failed delivery is answered `503`,
//! never `500`, and delivered again as Vonage does; every event is kept exactly once and every
//! call log comes out right.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use event::{Deps, handle};
use futures::StreamExt;
use lambda_http::{Body, Request};
use serde_json::json;
use shared::model::{ConversationStatus, Interaction};
use shared::ports::{CallLog, Conversations};
use shared::signature::WebhookAuth;
use testkit::{FaultProxy, add_pool, budget, conversation, fresh_store};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-00000000000f";
const ANSWERED: usize = 50;
const BUSY: usize = 25;
/// Vonage's retries of one event, more than enough at this fault rate.
const MAX_DELIVERIES: usize = 30;

fn event(call: usize, leg: &str, status: &str, second: u32) -> serde_json::Value {
    let (from, to, direction) = match leg {
        "in" => (A, PA, "inbound"),
        _ => (PB, B, "outbound"),
    };
    let mut e = json!({
        "from": from, "to": to, "uuid": format!("leg-{leg}-{call}"),
        "conversation_uuid": format!("CON-{call}"), "status": status, "direction": direction,
        "timestamp": format!("2026-11-24T10:{:02}:{second:02}.000Z", call % 60),
    });
    if status == "completed" {
        e["duration"] = json!("42");
        e["price"] = json!("0.00980000");
    }
    e
}

fn request(fields: &serde_json::Value) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(fields.to_string()))
        .unwrap()
}

/// Delivers one event until it is acknowledged, as Vonage retries a 503; the statuses seen.
async fn deliver(deps: &Deps, fields: serde_json::Value) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..MAX_DELIVERIES {
        let status = handle(deps, request(&fields)).await.status().as_u16();
        seen.push(status);
        if status != 503 {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_is_kept_once_while_writes_fail() {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    store
        .create_conversation(&conversation(ID, (A, PA), (B, PB), now, now + 3600))
        .await
        .unwrap();
    let proxy = FaultProxy::start();
    let deps = Deps {
        store: proxy.store(store.table(), &budget(1000, 2500, 3)).await,
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        missed: Default::default(),
        timers: None,
    };

    let mut events = Vec::new();
    for call in 0..ANSWERED {
        for (i, status) in ["started", "ringing", "answered", "completed"]
            .into_iter()
            .enumerate()
        {
            events.push(event(call, "in", status, i as u32));
            events.push(event(call, "out", status, i as u32 + 1));
        }
    }
    for call in ANSWERED..ANSWERED + BUSY {
        events.push(event(call, "in", "started", 0));
        events.push(event(call, "in", "ringing", 1));
        events.push(event(call, "out", "started", 1));
        events.push(event(call, "out", "busy", 2));
    }
    assert_eq!(events.len(), 500);

    proxy
        .set(
            3,
            json!([{
                "fault": ["throttle", "provisioned", "conflict", "internal", "drop"],
                "rate": 0.3,
                "ops": ["TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"],
            }]),
        )
        .await;
    let deliveries: Vec<Vec<u16>> = futures::stream::iter(events)
        .map(|e| deliver(&deps, e))
        .buffer_unordered(16)
        .collect()
        .await;
    let counts = proxy.counts().await;
    proxy.clear().await;

    let retried = deliveries.iter().filter(|d| d.len() > 1).count();
    let refusals: usize = deliveries.iter().map(|d| d.len() - 1).sum();
    eprintln!(
        "500 events, 30% of writes failing: {retried} needed a retry ({refusals} 503s in all); \
         proxy counts {counts}"
    );
    let followed_up = deliveries.iter().filter(|d| d.last() == Some(&200)).count();
    assert_eq!(
        followed_up, BUSY,
        "each busy callee's leg is answered with the caller's NCCO"
    );
    for d in &deliveries {
        assert!(
            matches!(d.last(), Some(&204 | &200)),
            "acknowledged in the end: {d:?}"
        );
        assert!(
            d[..d.len() - 1].iter().all(|s| *s == 503),
            "only 503 before: {d:?}"
        );
    }
    assert!(
        refusals > 0,
        "the faults made some deliveries fail: {counts}"
    );

    // Read directly: every event once, every call's log right.
    let kept = store.call_events(&ID.parse().unwrap()).await.unwrap();
    assert_eq!(kept.len(), 500);
    let calls = Interaction::fold(&kept);
    assert_eq!(calls.len(), ANSWERED + BUSY);
    for call in &calls {
        let n: usize = call.call_id.trim_start_matches("CON-").parse().unwrap();
        if n < ANSWERED {
            assert_eq!(call.status, "completed", "{call:?}");
            assert_eq!(call.duration, Some(42), "{call:?}");
            assert!(call.answered_at_ms.is_some(), "{call:?}");
            assert_eq!(call.statuses.len(), 8, "{call:?}");
        } else {
            assert_eq!(call.status, "busy", "{call:?}");
            assert_eq!(call.statuses.len(), 4, "{call:?}");
        }
        assert_eq!(call.caller_index, 0);
    }
    let c = store
        .conversation(&ID.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, ConversationStatus::InProgress);
}
