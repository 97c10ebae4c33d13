//! A conversation's life across functions on one local store: calls logged by the event webhook
//! and shown by the conversations API; calls refused by the answer webhook once the sweep has
//! closed it, and its pairs free again.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::time::{Duration, Instant};

use lambda_http::{Body, RequestExt};
use serde_json::json;
use shared::signature::WebhookAuth;
use shared::store::Store;
use testkit::{add_pool, fresh_store, numbered_conversation};

const PA: &str = "447700900101";
const PB: &str = "447700900102";

async fn with_pool() -> Store {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    store
}

fn event(fields: serde_json::Value) -> lambda_http::Request {
    testkit::requests::json("POST", "/webhooks/event", Some(fields))
}

#[tokio::test]
async fn the_call_log_names_participants_by_label() {
    let store = with_pool().await;
    let now = shared::now();
    let c = numbered_conversation(7, (PA, PB), now + 3600);
    store.create_conversation(&c).await.unwrap();
    let (rider, driver) = (&c.participants[0], &c.participants[1]);
    let events = event::Deps {
        store: store.clone(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        missed: Default::default(),
        timers: None,
    };
    // The callee's leg (proxy(driver) → driver) of the rider's call.
    for (status, second, extra) in [
        ("started", 1, json!({})),
        ("answered", 3, json!({})),
        (
            "completed",
            30,
            json!({"duration": "27", "price": "0.00500000", "rate": "0.01000000"}),
        ),
    ] {
        let mut f = json!({
            "from": driver.proxy_number.as_str(), "to": driver.number.as_str(),
            "uuid": "leg-out", "conversation_uuid": "CON-1", "status": status,
            "direction": "outbound", "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
        });
        f.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        assert_eq!(event::handle(&events, event(f)).await.status(), 204);
    }
    let vonage = testkit::vonage_mock().await;
    let api = conversations::Deps {
        store,
        vonage: shared::vonage::VonageClient::new(&testkit::mock_config(&vonage)).unwrap(),
        conversations: shared::config::ConversationConfig::from_source(&|_: &str| None).unwrap(),
        application_id: None,
        calls: None::<conversations::calls::Calls>,
    };
    let req = http::Request::builder()
        .method("GET")
        .uri(format!("/conversations/{}", c.id))
        .body(Body::Empty)
        .unwrap();
    let response = conversations::handle(&api, req).await;
    let Body::Text(text) = response.body() else {
        panic!("no body")
    };
    let view: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(view["status"], "in-progress");
    let call = &view["calls"][0];
    assert_eq!(
        (call["from"].as_str(), call["to"].as_str()),
        (Some("rider"), Some("driver"))
    );
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration"], 27);
    assert_eq!(call["price"], "0.00500000");
    assert_eq!(call["started_at"], "2026-11-24T10:00:01.000Z");
    let log = view["calls"].to_string();
    assert!(
        !log.contains(rider.number.as_str()) && !log.contains(driver.number.as_str()),
        "no numbers in the log"
    );
}

#[tokio::test]
async fn after_expiry_calls_stop_and_the_pairs_are_free_again() {
    let store = with_pool().await;
    let now = shared::now();
    let c = numbered_conversation(1, (PA, PB), now - 1);
    store.create_conversation(&c).await.unwrap();
    let sweeper: expiry::Deps = expiry::Deps {
        store: store.clone(),
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention { seconds: 86_400 },
            cool_off_seconds: 600,
        },
        max_per_run: 100,
        concurrency: 4,
        safety_margin: Duration::ZERO,
        notify: None,
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    assert_eq!(expiry::sweep(&sweeper, now, deadline).await.closed, 1);

    let answer = answer::Deps {
        store: store.clone(),
        hooks: answer::CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
        call: shared::config::CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
    };
    for p in &c.participants {
        let params: std::collections::HashMap<String, String> =
            [("to", p.proxy_number.as_str()), ("from", p.number.as_str())]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let req = http::Request::builder()
            .uri("/webhooks/answer")
            .body(Body::Empty)
            .unwrap()
            .with_query_string_parameters(params);
        let (ncco, outcome) = answer::answer(&answer, &req, now).await;
        assert_eq!(outcome, answer::Outcome::UnknownCaller);
        assert!(ncco.to_json().contains("not in service"));
    }
    // The same (proxy number, participant) pairs go to a new conversation.
    let mut again = numbered_conversation(1, (PA, PB), now + 3600);
    again.id = "00000000-0000-4000-8000-aaaaaaaaaaaa".parse().unwrap();
    store.create_conversation(&again).await.unwrap();
}
