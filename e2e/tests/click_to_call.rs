//! Click-to-call across functions on one local store, with the Voice API behind a Prism proxy
//! serving `voice.yml`: the create-call request's `to`, `from` and NCCO are rule 1's (the NCCO
//! the answer webhook would give had the caller dialled their proxy number, and one the NCCO
//! schema accepts); both legs' events land in the conversation's call log through the event
//! webhook, the call shown as `initiated_by: "api"` with the rung caller's leg as the caller's;
//! closed, expired and unknown conversations are refused with nothing sent.
#![cfg(feature = "services")] // needs the local servers and Prism: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::{Value, json};
use shared::config::{CallConfig, ConversationConfig, WebhookMethods};
use shared::ports::Conversations;
use shared::seal::Seal;
use shared::signature::WebhookAuth;
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::requests::{json as request, read};
use testkit::{
    SpecProxy, add_pool, application_key_pair, assert_ncco, fresh_store, mock_config,
    numbered_conversation, voice_client, voice_spec_for_calls, vonage_mock,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PA: &str = "447700900101";
const PB: &str = "447700900102";
const BASE: &str = "https://proxy.example.com";
const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const CALL: &str = "aa5e1c0e-8b1f-4c1e-9f63-0c2d7c6b5a41";
const CALLER_LEG: &str = "aa5e1c0e-0000-4000-8000-000000000001";
const CALLEE_LEG: &str = "aa5e1c0e-0000-4000-8000-000000000002";

struct Stack {
    store: Store,
    api: conversations::Deps,
    answer: answer::Deps<Store>,
    events: event::Deps,
    stand_in: MockServer,
    _prism: SpecProxy,
    _vonage: MockServer,
}

fn settings(name: &str) -> Option<String> {
    (name == "PUBLIC_BASE_URL").then(|| BASE.to_owned())
}

async fn stack() -> Stack {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let (private, _) = application_key_pair();
    let stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "uuid": CALLER_LEG, "status": "started", "direction": "outbound",
            "conversation_uuid": CALL,
        })))
        .mount(&stand_in)
        .await;
    // voice.yml, its call endpoints told apart (testkit::voice_spec_for_calls says why).
    let prism = SpecProxy::start_file(&voice_spec_for_calls(), &stand_in.uri());
    let vonage = vonage_mock().await;
    let call = CallConfig::from_source(&settings).unwrap();
    Stack {
        api: conversations::Deps {
            store: store.clone(),
            vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
            conversations: ConversationConfig::from_source(&settings).unwrap(),
            application_id: None,
            calls: Some(conversations::calls::Calls {
                voice: voice_client(&prism.url, &stand_in.uri(), APP, &private),
                call: call.clone(),
                seal: Seal::local(),
            }),
        },
        answer: answer::Deps {
            store: store.clone(),
            call,
            auth: WebhookAuth::Off,
            methods: WebhookMethods::Any,
            hooks: answer::CallHooks::off().unwrap(),
            voice: None::<shared::vonage::VoiceClient>,
            codes: None,
        },
        events: event::Deps {
            store: store.clone(),
            auth: WebhookAuth::Off,
            methods: WebhookMethods::Any,
            retention: shared::domain::Retention { seconds: 86_400 },
            missed: Default::default(),
            timers: None,
        },
        store,
        stand_in,
        _prism: prism,
        _vonage: vonage,
    }
}

/// `ncco` with the query strings of its URLs (the sealed parameters) left out.
fn unsealed(ncco: &Value) -> Value {
    match ncco {
        Value::String(s) if s.starts_with(BASE) => {
            Value::String(s.split('?').next().unwrap_or_default().to_owned())
        }
        Value::Array(items) => Value::Array(items.iter().map(unsealed).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), unsealed(v))).collect())
        }
        other => other.clone(),
    }
}

/// The path and query of one of our own URLs, as API Gateway hands it over.
fn local(url: &str) -> &str {
    url.strip_prefix(BASE).unwrap()
}

async fn started_requests(stand_in: &MockServer) -> Vec<Value> {
    stand_in
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_started_call_is_rule_1s_and_its_events_join_the_call_log() {
    let s = stack().await;
    let now = shared::now();
    let mut c = numbered_conversation(3, (PA, PB), now + 3600);
    c.call.whisper = Some("Your {caller} is calling about {reference}.".into());
    s.store.create_conversation(&c).await.unwrap();
    let (rider, driver) = (&c.participants[0], &c.participants[1]);

    let (status, body) = read(
        conversations::handle(
            &s.api,
            request(
                "POST",
                &format!("/conversations/{}/calls", c.id),
                Some(json!({"from_index": 0})),
            ),
        )
        .await,
    );
    assert_eq!(
        (status, body["call_id"].as_str()),
        (202, Some(CALL)),
        "{body}"
    );

    // The request Prism let through: the rider rung from proxy(rider), which stands for the
    // driver on their phone...
    let sent = started_requests(&s.stand_in).await;
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    assert_eq!(
        sent["to"],
        json!([{"type": "phone", "number": rider.number.as_str()}])
    );
    assert_eq!(sent["from"], json!({"type": "phone", "number": PA}));
    assert_eq!(
        sent["machine_detection"], "hangup",
        "the rider's voicemail is hung up on"
    );
    assert_ncco(&sent["ncco"]);
    // ... and played what the answer webhook plays when the rider dials proxy(rider): the
    // driver, shown proxy(driver), with the same announcement, whisper and settings.
    let dialled = request(
        "POST",
        "/webhooks/answer",
        Some(
            json!({"to": PA, "from": rider.number.as_str(), "uuid": "leg-in",
                    "conversation_uuid": "CON-dialled"}),
        ),
    );
    let (answered, _) = answer::answer(&s.answer, &dialled, now).await;
    let answered = serde_json::to_value(&answered).unwrap();
    assert_eq!(unsealed(&sent["ncco"]), unsealed(&answered));
    let connect = &sent["ncco"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(connect["from"], PB);
    assert_eq!(connect["endpoint"][0]["number"], driver.number.as_str());
    assert_eq!(connect["machineDetection"], "hangup");

    // The rider's leg (Vonage rang it: outbound, proxy(rider) → rider) reports to the create
    // request's event URL; the driver's leg to the connect's.
    let caller_url = local(sent["event_url"][0].as_str().unwrap()).to_owned();
    let callee_url = local(connect["eventUrl"][0].as_str().unwrap()).to_owned();
    // The rider's leg (from PA) rings and answers first, then the driver's (from PB).
    let rider_leg = |status, second| {
        (
            &caller_url,
            CALLER_LEG,
            PA,
            rider.number.as_str(),
            status,
            second,
        )
    };
    let driver_leg = |status, second| {
        (
            &callee_url,
            CALLEE_LEG,
            PB,
            driver.number.as_str(),
            status,
            second,
        )
    };
    let legs = [
        rider_leg("started", 0),
        rider_leg("ringing", 1),
        rider_leg("answered", 4),
        driver_leg("started", 5),
        driver_leg("ringing", 6),
        driver_leg("answered", 9),
        driver_leg("completed", 40),
        rider_leg("completed", 41),
    ];
    for (url, leg, from, to, status, second) in legs {
        let fields = json!({
            "from": from, "to": to, "uuid": leg, "conversation_uuid": CALL,
            "status": status, "direction": "outbound",
            "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
        });
        let response = event::handle(&s.events, request("POST", url, Some(fields))).await;
        assert_eq!(response.status(), 204, "{status} on {leg}");
    }

    let (status, view) = read(
        conversations::handle(
            &s.api,
            request("GET", &format!("/conversations/{}", c.id), None),
        )
        .await,
    );
    assert_eq!(status, 200);
    let calls = view["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{view}");
    let call = &calls[0];
    assert_eq!(call["id"], CALL);
    assert_eq!(call["initiated_by"], "api");
    assert_eq!(call["routed_by"], "caller_id");
    assert_eq!(
        (call["from"].as_str(), call["to"].as_str()),
        (Some("rider"), Some("driver"))
    );
    assert_eq!(call["uuid"], CALLER_LEG, "the rider's leg is the caller's");
    assert_eq!(call["status"], "completed");
    assert_eq!(
        call["answered_at"], "2026-11-24T10:00:09.000Z",
        "when the driver answered"
    );
    let legs: Vec<(&str, &str)> = call["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["status"].as_str().unwrap(), s["leg"].as_str().unwrap()))
        .collect();
    assert_eq!(legs.len(), 8);
    assert!(legs.contains(&("answered", "caller")) && legs.contains(&("answered", "callee")));
}

#[tokio::test]
async fn closed_expired_and_unknown_conversations_send_nothing() {
    let s = stack().await;
    let now = shared::now();
    let closed = numbered_conversation(4, (PA, PB), now + 3600);
    s.store.create_conversation(&closed).await.unwrap();
    let (status, _) = read(
        conversations::handle(
            &s.api,
            request("DELETE", &format!("/conversations/{}", closed.id), None),
        )
        .await,
    );
    assert_eq!(status, 200);
    let expired = numbered_conversation(5, (PA, PB), now - 1);
    s.store.create_conversation(&expired).await.unwrap();
    for (id, code) in [
        (closed.id.to_string(), "conversation_closed"),
        (expired.id.to_string(), "conversation_closed"),
        (
            "0d8f3c1e-1f2a-4b5c-9d8e-7f6a5b4c3d2e".to_owned(),
            "not_found",
        ),
    ] {
        let (_, body) = read(
            conversations::handle(
                &s.api,
                request(
                    "POST",
                    &format!("/conversations/{id}/calls"),
                    Some(json!({"from_index": 1})),
                ),
            )
            .await,
        );
        assert_eq!(body["code"], code, "{id}");
    }
    assert!(
        started_requests(&s.stand_in).await.is_empty(),
        "nothing was sent"
    );
}
