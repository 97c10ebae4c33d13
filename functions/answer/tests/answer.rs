//! The answer webhook: routing, refusals and safety, with every NCCO checked against
//! `vonage/ncco-schema.json`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::signature::WebhookAuth;

use answer::{CallHooks, Deps, Outcome, answer, handle};
use lambda_http::{Body, Request};
use shared::config::CallConfig;
use shared::model::{Conversation, ConversationStatus, ExpiryMode, Participant};
use shared::ncco::{Action, Ncco};
use shared::phone::Msisdn;
use testkit::fakes::MemoryStore;
use testkit::requests::webhook_get as get;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn call_config() -> CallConfig {
    CallConfig::from_source(&|_: &str| None).unwrap()
}

fn assert_valid(ncco: &Ncco) {
    testkit::assert_ncco(&serde_json::from_str(&ncco.to_json()).unwrap());
}

fn post(path: &str, content_type: &str, body: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri(format!(
            "https://abc123.execute-api.eu-west-1.amazonaws.com{path}"
        ))
        .header("host", "abc123.execute-api.eu-west-1.amazonaws.com")
        .header("content-type", content_type)
        .body(Body::Text(body.to_owned()))
        .unwrap()
}

fn inbound(to: &str, from: &str) -> Request {
    get(
        "/webhooks/answer",
        &[
            ("to", to),
            ("from", from),
            ("uuid", "aaaaaaaa-0000-0000-0000-000000000001"),
            (
                "conversation_uuid",
                "CON-aaaaaaaa-0000-0000-0000-000000000001",
            ),
        ],
    )
}

/// A store that does not answer.
fn broken() -> MemoryStore {
    let store = MemoryStore::default();
    store.fail(true);
    store
}

fn conversation(expires_at: i64) -> Conversation {
    let p = |n: &str, proxy: &str| Participant {
        number: m(n),
        label: None,
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
    Conversation {
        id: "c1".parse().unwrap(),
        status: ConversationStatus::Active,
        created_at: 0,
        expires_at,
        reference: None,
        participants: [p(A, PA), p(B, PB)],
        closed_at: None,
        close_reason: None,
        expiry_mode: ExpiryMode::Absolute,
        ttl_seconds: 3600,
        last_activity: None,
        mode: Default::default(),
        intercept: false,
        call: Default::default(),
    }
}

fn routes(c: &Conversation) -> MemoryStore {
    MemoryStore::with([c.clone()])
}

fn connect_of(ncco: &Ncco) -> (String, String, Vec<String>) {
    let Some(Action::Connect(c)) = ncco.actions().last() else {
        panic!("no connect in {ncco:?}")
    };
    // No caller hears the callee's own voicemail greeting.
    assert_eq!(c.machine_detection, "hangup");
    let shared::ncco::Endpoint::Phone { number, .. } = &c.endpoint[0];
    (number.clone(), c.from.clone(), c.event_url.clone())
}

#[test]
fn the_schema_check_refuses_what_vonage_refuses() {
    let validator = testkit::ncco_schema();
    for bad in [
        serde_json::json!([]),
        serde_json::json!([{"action": "connect", "endpoint": [{"type": "phone", "number": "+447700900002"}]}]),
        serde_json::json!([{"action": "notify", "payload": {}}]),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[tokio::test]
async fn each_direction_reaches_the_other_with_the_right_caller_id() {
    let deps = Deps {
        store: routes(&conversation(2_000)),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let (ncco, outcome) = answer(&deps, &inbound(PA, A), 1_000).await;
    assert_eq!(outcome, Outcome::Connected);
    assert_valid(&ncco);
    let (callee, caller_id, event_url) = connect_of(&ncco);
    assert_eq!((callee.as_str(), caller_id.as_str()), (B, PB));
    assert!(
        !ncco.to_json().contains(A),
        "the caller's real number is nowhere in what B receives"
    );
    assert_eq!(
        event_url,
        ["https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/event"]
    );

    // B calls back through POST JSON, as an application with answer_method POST does.
    let body = serde_json::json!({"to": PB, "from": B, "uuid": "u2", "conversation_uuid": "CON-2"})
        .to_string();
    let (ncco, outcome) = answer(
        &deps,
        &post("/webhooks/answer", "application/json", &body),
        1_000,
    )
    .await;
    assert_eq!(outcome, Outcome::Connected);
    assert_valid(&ncco);
    let (callee, caller_id, _) = connect_of(&ncco);
    assert_eq!((callee.as_str(), caller_id.as_str()), (A, PA));
    assert!(
        !ncco.to_json().contains(B),
        "the caller's real number is nowhere in what A receives"
    );
}

#[tokio::test]
async fn nothing_else_connects() {
    let deps = Deps {
        store: routes(&conversation(2_000)),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let cases = [
        (inbound(PB, A), Outcome::UnknownCaller), // A on B's proxy number
        (inbound(PA, "447700900009"), Outcome::UnknownCaller), // a stranger
        (inbound(PA, "Unknown"), Outcome::UnknownCaller), // withheld caller ID
        (get("/webhooks/answer", &[]), Outcome::UnknownCaller),
        (
            post("/webhooks/answer", "application/json", "{not json"),
            Outcome::Unreadable,
        ),
    ];
    for (req, expected) in cases {
        let (ncco, outcome) = answer(&deps, &req, 1_000).await;
        assert_eq!(outcome, expected);
        assert_valid(&ncco);
        assert!(
            matches!(ncco.actions(), [Action::Talk(t)] if t.text == call_config().out_of_service)
        );
    }
}

#[tokio::test]
async fn an_expired_conversation_never_connects_even_before_the_sweep() {
    let deps = Deps {
        store: routes(&conversation(2_000)),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    for now in [2_000, 50_000] {
        let (ncco, outcome) = answer(&deps, &inbound(PA, A), now).await;
        assert_eq!(outcome, Outcome::Expired);
        assert_valid(&ncco);
    }
}

#[tokio::test]
async fn a_texts_only_conversation_refuses_calls() {
    let mut c = conversation(i64::MAX / 2);
    c.mode = shared::model::Mode::Sms;
    let deps = Deps {
        store: routes(&c),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let (ncco, outcome) = answer(&deps, &inbound(PA, A), 1_000).await;
    assert_eq!(outcome, Outcome::VoiceOff);
    assert!(matches!(ncco.actions(), [Action::Talk(t)] if t.text == call_config().out_of_service));
}

#[tokio::test]
async fn a_store_failure_is_a_spoken_apology_with_200() {
    let deps = Deps {
        store: broken(),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let response = handle(&deps, inbound(PA, A)).await;
    assert_eq!(response.status(), 200);
    let Body::Text(text) = response.body() else {
        panic!("no body")
    };
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"action": "talk", "text": call_config().unavailable}])
    );
    let (ncco, _) = answer(&deps, &inbound(PA, A), 0).await;
    assert_valid(&ncco);
}

#[tokio::test]
async fn the_fallback_answers_the_same_way() {
    let deps = Deps {
        store: routes(&conversation(2_000)),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let req = get(
        "/webhooks/fallback",
        &[("to", PA), ("from", A), ("reason", "timeout")],
    );
    let response = handle(&deps, req).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn the_announcement_is_configurable_and_optional() {
    let mut call = call_config();
    call.announcement = String::new();
    call.public_base_url = Some("https://proxy.example.com".into());
    let deps = Deps {
        store: routes(&conversation(2_000)),
        call,
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let (ncco, _) = answer(&deps, &inbound(PA, A), 1_000).await;
    assert_eq!(ncco.actions().len(), 1);
    assert_eq!(
        connect_of(&ncco).2,
        ["https://proxy.example.com/webhooks/event"]
    );
    assert_valid(&ncco);
}

#[tokio::test]
async fn other_methods_are_refused_without_5xx() {
    let deps = Deps {
        store: broken(),
        call: call_config(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let req = http::Request::builder()
        .method("PUT")
        .uri("/webhooks/answer")
        .body(Body::Empty)
        .unwrap();
    assert_eq!(handle(&deps, req).await.status(), 405);
}

/// Against the real local DynamoDB-API server (scripts/test starts it).
#[cfg(feature = "services")]
mod through_the_store {
    use super::*;
    use shared::model::CloseReason;
    use shared::ports::Conversations;
    use shared::store::Store;

    async fn stored(c: &Conversation) -> Store {
        let store = testkit::fresh_store().await;
        testkit::add_pool(&store, &[PA, PB], "GB").await;
        store.create_conversation(c).await.unwrap();
        store
    }

    #[tokio::test]
    async fn through_the_store_both_ways_then_closed() {
        let now = shared::now();
        let c = conversation(now + 3_600);
        let deps = Deps {
            store: stored(&c).await,
            call: call_config(),
            auth: WebhookAuth::Off,
            methods: shared::config::WebhookMethods::Any,
            hooks: CallHooks::off().unwrap(),
            voice: None::<shared::vonage::VoiceClient>,
            codes: None,
        };
        for (to, from, callee, caller_id) in [(PA, A, B, PB), (PB, B, A, PA)] {
            let (ncco, outcome) = answer(&deps, &inbound(to, from), now).await;
            assert_eq!(outcome, Outcome::Connected);
            assert_eq!(connect_of(&ncco).0, callee);
            assert_eq!(connect_of(&ncco).1, caller_id);
            assert_valid(&ncco);
        }
        deps.store
            .close_conversation(
                &"c1".parse().unwrap(),
                &testkit::closing(CloseReason::Closed, now, now + 60),
            )
            .await
            .unwrap();
        for (to, from) in [(PA, A), (PB, B)] {
            let (ncco, outcome) = answer(&deps, &inbound(to, from), now).await;
            assert_eq!(
                outcome,
                Outcome::UnknownCaller,
                "a closed conversation connects nobody"
            );
            assert_valid(&ncco);
        }
    }

    #[tokio::test]
    async fn through_the_store_expired_without_a_sweep() {
        let now = shared::now();
        let deps = Deps {
            store: stored(&conversation(now - 1)).await,
            call: call_config(),
            auth: WebhookAuth::Off,
            methods: shared::config::WebhookMethods::Any,
            hooks: CallHooks::off().unwrap(),
            voice: None::<shared::vonage::VoiceClient>,
            codes: None,
        };
        for (to, from) in [(PA, A), (PB, B)] {
            let (_, outcome) = answer(&deps, &inbound(to, from), now).await;
            assert_eq!(outcome, Outcome::Expired);
        }
    }
}
