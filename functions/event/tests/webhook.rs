//! The event webhook against the real local DynamoDB-API server: retries, order, unknown calls,
//! malformed bodies, the call log and sliding expiry.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::http::webhook_fields;
use shared::ports::{CallLog, Conversations, RouteReader};
use shared::signature::WebhookAuth;
use std::collections::HashMap;

use event::{Deps, Outcome, handle, parse, record};
use lambda_http::{Body, Request, RequestExt};
use serde_json::json;
use shared::model::{
    CloseReason, Conversation, ConversationStatus, ExpiryMode, Interaction, Participant,
};
use shared::phone::Msisdn;
use shared::store::Store;
use testkit::{all_items, fresh_store};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

async fn setup(mode: ExpiryMode, expires_in: i64) -> (Deps, Conversation) {
    let store = fresh_store().await;
    testkit::add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    let p = |n: &str, proxy: &str, label: &str| Participant {
        number: m(n),
        label: label.parse().ok(),
        proxy_number: m(proxy),
        country: "GB".parse().unwrap(),
        notification: None,
        language: None,
        code: None,
        shared: false,
        checked: Default::default(),
        facts: Default::default(),
        time_zone: None,
        quiet_hours: None,
    };
    let c = Conversation {
        id: "5d0f1a2b-0000-4000-8000-000000000001".parse().unwrap(),
        status: ConversationStatus::Active,
        created_at: now,
        expires_at: now + expires_in,
        reference: None,
        participants: [p(A, PA, "rider"), p(B, PB, "driver")],
        closed_at: None,
        close_reason: None,
        expiry_mode: mode,
        ttl_seconds: expires_in,
        last_activity: None,
        mode: Default::default(),
        intercept: false,
        call: Default::default(),
    };
    store.create_conversation(&c).await.unwrap();
    (
        Deps {
            store,
            auth: WebhookAuth::Off,
            methods: shared::config::WebhookMethods::Any,
            retention: shared::domain::Retention { seconds: 86_400 },
            missed: Default::default(),
            timers: None,
        },
        c,
    )
}

/// An event as Vonage posts it: JSON.
fn event(fields: serde_json::Value) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(fields.to_string()))
        .unwrap()
}

/// The caller's leg (A → proxy(A)) of call `CON-1`.
fn inbound(status: &str, second: u32, extra: serde_json::Value) -> Request {
    let mut f = json!({
        "from": A, "to": PA, "uuid": "leg-in", "conversation_uuid": "CON-1",
        "status": status, "direction": "inbound",
        "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
    });
    f.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    event(f)
}

/// The callee's leg (proxy(B) → B) of the same call.
fn outbound(status: &str, second: u32, extra: serde_json::Value) -> Request {
    let mut f = json!({
        "from": PB, "to": B, "uuid": "leg-out", "conversation_uuid": "CON-1",
        "status": status, "direction": "outbound",
        "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
    });
    f.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    event(f)
}

async fn deliver(deps: &Deps, req: Request) -> u16 {
    handle(deps, req).await.status().as_u16()
}

async fn calls(store: &Store, id: &shared::values::ConversationId) -> Vec<Interaction> {
    Interaction::fold(&store.call_events(id).await.unwrap())
}

#[tokio::test]
async fn repeated_and_out_of_order_events_give_one_interaction() {
    let (deps, c) = setup(ExpiryMode::Absolute, 3600).await;
    let completed = json!({"duration": "42", "rate": "0.01400000", "price": "0.00980000", "start_time": "2026-11-24T10:00:05.000Z", "end_time": "2026-11-24T10:00:47.000Z"});
    // Twice each, partly out of order: completed arrives first and again last.
    let sequence = [
        inbound("completed", 47, completed.clone()),
        inbound("started", 0, json!({})),
        inbound("answered", 5, json!({})),
        inbound("ringing", 1, json!({})),
        inbound("started", 0, json!({})),
        inbound("answered", 5, json!({})),
        inbound("ringing", 1, json!({})),
        inbound("completed", 47, completed),
    ];
    for req in sequence {
        assert_eq!(deliver(&deps, req).await, 204);
    }
    let log = calls(&deps.store, &c.id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let call = &log[0];
    assert_eq!(call.status, "completed");
    assert_eq!(call.duration, Some(42));
    assert_eq!(call.caller_index, 0);
    assert_eq!(call.price.as_deref(), Some("0.00980000"));
    assert_eq!(
        call.statuses
            .iter()
            .map(|s| s.status.as_str())
            .collect::<Vec<_>>(),
        ["started", "ringing", "answered", "completed"]
    );
    let stored = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        ConversationStatus::InProgress,
        "the first answered call"
    );
    assert!(stored.last_activity.is_some());
}

#[tokio::test]
async fn the_callees_leg_decides() {
    let (deps, c) = setup(ExpiryMode::Absolute, 3600).await;
    for req in [
        inbound("started", 0, json!({})),
        outbound("started", 1, json!({})),
        outbound("ringing", 2, json!({})),
        inbound("answered", 0, json!({})),
        outbound("busy", 9, json!({})),
        inbound(
            "completed",
            10,
            json!({"duration": "10", "price": "0.00100000"}),
        ),
    ] {
        // The callee's busy leg is answered with what the caller hears next.
        let busy = webhook_fields(&req).is_some_and(|f| f["status"] == "busy");
        assert_eq!(deliver(&deps, req).await, if busy { 200 } else { 204 });
    }
    let log = calls(&deps.store, &c.id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].status, "busy",
        "the callee was busy, whatever the caller's leg says"
    );
    assert_eq!(log[0].uuid.as_deref(), Some("leg-in"));
    // The callee's leg alone (proxy(B) → B) maps to A's call: a call from participant 0.
    assert_eq!(log[0].caller_index, 0);
    // Only the caller's leg was priced.
    assert_eq!(log[0].price.as_deref(), Some("0.00100000"));
}

#[tokio::test]
async fn both_legs_of_a_call_are_priced() {
    let (deps, c) = setup(ExpiryMode::Absolute, 3600).await;
    for req in [
        inbound("started", 0, json!({})),
        outbound("started", 1, json!({})),
        outbound("answered", 3, json!({})),
        inbound("answered", 3, json!({})),
        outbound(
            "completed",
            30,
            json!({"duration": "27", "price": "0.00200000", "rate": "0.00450000"}),
        ),
        inbound(
            "completed",
            31,
            json!({"duration": "31", "price": "0.00100000", "rate": "0.00200000"}),
        ),
    ] {
        assert_eq!(deliver(&deps, req).await, 204);
    }
    let log = calls(&deps.store, &c.id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "completed");
    // The call costs what both legs cost; it lasted as long as the callee was connected.
    assert_eq!(log[0].price.as_deref(), Some("0.00300000"));
    assert_eq!(log[0].duration, Some(27));
}

#[tokio::test]
async fn a_late_event_after_close_still_lands() {
    let (deps, c) = setup(ExpiryMode::Absolute, 3600).await;
    assert_eq!(deliver(&deps, inbound("started", 0, json!({}))).await, 204);
    let retain_until = shared::now() + 60;
    deps.store
        .close_conversation(
            &c.id,
            &testkit::closing(CloseReason::Closed, shared::now(), retain_until),
        )
        .await
        .unwrap();
    let stamped: Vec<i64> = all_items(&deps.store)
        .await
        .into_iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("CALL#"))
        .map(|i| i["ttl"].as_n().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        stamped,
        [retain_until],
        "the call log takes the conversation's retention"
    );
    assert_eq!(
        deliver(&deps, inbound("completed", 30, json!({"duration": "0"}))).await,
        204
    );
    let log = calls(&deps.store, &c.id).await;
    assert_eq!(log[0].status, "completed");
    let closed = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(
        closed.status,
        ConversationStatus::Closed,
        "an event never reopens a conversation"
    );
}

#[tokio::test]
async fn unknown_calls_are_acknowledged_and_write_nothing() {
    let (deps, _) = setup(ExpiryMode::Absolute, 3600).await;
    let before = all_items(&deps.store).await.len();
    let stranger = event(
        json!({"from": "447700900999", "to": PA, "uuid": "x", "conversation_uuid": "CON-X", "status": "started", "direction": "inbound"}),
    );
    let incoming = parse(&stranger).unwrap().unwrap();
    assert_eq!(
        record(&deps, &incoming, shared::now()).await.unwrap(),
        Outcome::UnknownCall.into()
    );
    assert_eq!(deliver(&deps, stranger).await, 204);
    // Action results (no status) are acknowledged and not recorded.
    let input = event(json!({"uuid": "x", "conversation_uuid": "CON-X", "dtmf": {"digits": "1"}}));
    assert_eq!(deliver(&deps, input).await, 204);
    assert_eq!(all_items(&deps.store).await.len(), before);
}

#[tokio::test]
async fn malformed_events_get_a_400_and_write_nothing() {
    let (deps, _) = setup(ExpiryMode::Absolute, 3600).await;
    let before = all_items(&deps.store).await.len();
    let raw = |body: &str| {
        http::Request::builder()
            .method("POST")
            .uri("/webhooks/event")
            .header("content-type", "application/json")
            .body(Body::Text(body.into()))
            .unwrap()
    };
    for (req, code) in [
        (raw("{not json"), "invalid_json"),
        (raw("[1,2]"), "invalid_json"),
        (event(json!({"status": "started"})), "invalid_request"),
        (
            event(json!({"status": "started", "conversation_uuid": "CON-1"})),
            "invalid_request",
        ),
        (
            event(json!({"status": "<b>", "conversation_uuid": "CON-1", "uuid": "u"})),
            "invalid_request",
        ),
        (event(json!({"from": A})), "invalid_request"),
    ] {
        let response = handle(&deps, req).await;
        assert_eq!(response.status(), 400);
        let Body::Text(text) = response.body() else {
            panic!()
        };
        assert!(text.contains(code), "{text}");
    }
    assert_eq!(all_items(&deps.store).await.len(), before);
}

#[tokio::test]
async fn get_events_with_query_parameters_work_too() {
    let (deps, c) = setup(ExpiryMode::Absolute, 3600).await;
    let params: HashMap<String, String> = [
        ("from", A),
        ("to", PA),
        ("uuid", "leg-in"),
        ("conversation_uuid", "CON-9"),
        ("status", "started"),
        ("direction", "inbound"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let req = http::Request::builder()
        .method("GET")
        .uri("/webhooks/event")
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(params);
    assert_eq!(deliver(&deps, req).await, 204);
    assert_eq!(calls(&deps.store, &c.id).await[0].call_id, "CON-9");
}

#[tokio::test]
async fn sliding_conversations_are_extended_and_absolute_ones_are_not() {
    for (mode, extended) in [(ExpiryMode::Sliding, true), (ExpiryMode::Absolute, false)] {
        let (deps, c) = setup(mode, 600).await;
        let later = chrono::DateTime::from_timestamp(c.created_at + 300, 0)
            .unwrap()
            .to_rfc3339();
        let req = event(
            json!({"from": A, "to": PA, "uuid": "l", "conversation_uuid": "CON-S", "status": "started", "direction": "inbound", "timestamp": later}),
        );
        assert_eq!(deliver(&deps, req).await, 204);
        let after = deps.store.conversation(&c.id).await.unwrap().unwrap();
        let route = deps.store.route(&m(PB), &m(B)).await.unwrap().unwrap();
        if extended {
            assert_eq!(after.expires_at, c.created_at + 900, "{mode:?}");
            assert_eq!(route.expires_at, c.created_at + 900, "the routes move too");
        } else {
            assert_eq!(after.expires_at, c.expires_at, "{mode:?}");
            assert_eq!(route.expires_at, c.expires_at);
        }
    }
}
