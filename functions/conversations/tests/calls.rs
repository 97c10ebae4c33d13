//! Click-to-call (`POST /conversations/{id}/calls`) on the in-memory store and the fake Voice
//! API: the call Vonage is asked to start rings the participant from their own proxy number and
//! connects them to the other with the other's proxy number as caller ID (rule 1), in an NCCO
//! the schema accepts, with its URLs sealed for the conversation; closed, expired and unknown
//! conversations, a callee inside their quiet hours and bad bodies are refused with nothing sent,
//! and a Voice API that fails or refuses leaves nothing written.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use conversations::{Deps, handle};
use serde_json::{Value, json};
use shared::ports::{CallLog, Conversations};
use shared::seal::{PARAM, STARTED_BY_API, Seal};
use testkit::assert_ncco;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::{json as request, read, request as raw};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

type App = Deps<MemoryStore, FakeVonage, FakeVonage>;

fn app() -> App {
    common::in_memory_with_calls(&[PA, PB])
}

fn voice(app: &App) -> &FakeVonage {
    &app.calls.as_ref().unwrap().voice
}

async fn create(app: &App, extra: Value) -> Value {
    let mut body = json!({"participants": [
        {"number": A, "label": "rider"},
        {"number": B, "label": "driver"},
    ]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, created) = read(handle(app, request("POST", "/conversations", Some(body))).await);
    assert_eq!(status, 201, "{created}");
    created
}

async fn start(app: &App, id: &str, body: Value) -> (u16, Value) {
    read(
        handle(
            app,
            request("POST", &format!("/conversations/{id}/calls"), Some(body)),
        )
        .await,
    )
}

/// What the sealed parameter of `url` carries, opened as the event webhook opens it (for any
/// call Vonage may name).
fn carried(url: &str) -> shared::seal::Carried {
    let sealed = url
        .split_once(&format!("?{PARAM}="))
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("{url} carries nothing"));
    Seal::local().open("CON-any", sealed).unwrap()
}

#[tokio::test]
async fn a_call_rings_the_caller_from_their_own_proxy_and_connects_them_as_if_they_had_dialled() {
    let app = app();
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let numbers = [A, B];
    let proxy = |i: usize| c["participants"][i]["proxy_number"].as_str().unwrap();
    let proxies = [proxy(0), proxy(1)];
    for from_index in [0usize, 1] {
        let (status, body) = start(&app, id, json!({"from_index": from_index})).await;
        assert_eq!(status, 202, "{body}");
        let started = voice(&app).started_calls().pop().unwrap();
        assert_eq!(body["call_id"], started.call_id);
        assert_eq!(body["conversation_id"], id);
        assert_eq!(body["initiated_by"], "api");
        // Rung from the number that stands for the other participant on their phone...
        assert_eq!(started.to, numbers[from_index]);
        assert_eq!(started.from, proxies[from_index]);
        assert_eq!(started.ringing_timer, 45);
        // ... and connected to the other with the other's proxy number as caller ID.
        assert_ncco(&started.ncco);
        let actions = started.ncco.as_array().unwrap();
        assert_eq!(
            actions[0],
            json!({"action": "talk", "text": "Connecting your call.", "language": "en-GB"})
        );
        let connect = actions.last().unwrap();
        assert_eq!(connect["action"], "connect");
        assert_eq!(connect["from"], proxies[1 - from_index]);
        assert_eq!(connect["endpoint"][0]["number"], numbers[1 - from_index]);
        assert_eq!(
            connect["eventType"], "synchronous",
            "missed calls follow up"
        );
        assert_eq!(
            connect["machineDetection"], "hangup",
            "a machine that answers the callee's phone is hung up on"
        );
        // Both legs' events name the conversation and the caller, sealed for the conversation.
        for url in [
            started.event_url.as_str(),
            connect["eventUrl"][0].as_str().unwrap(),
        ] {
            assert!(url.contains("/webhooks/event?"), "{url}");
            let carried = carried(url);
            assert_eq!(carried.conversation_id.as_deref(), Some(id));
            assert_eq!(carried.caller, Some(from_index as u8));
            assert_eq!(carried.routed.as_deref(), Some(STARTED_BY_API));
        }
        // No real number travels in a URL; the NCCO names the callee's in its endpoint only.
        assert!(!started.event_url.contains(A) && !started.event_url.contains(B));
        let text = started.ncco.to_string();
        assert_eq!(text.matches(numbers[1 - from_index]).count(), 1, "{text}");
        assert!(!text.contains(numbers[from_index]), "{text}");
    }
    assert_eq!(voice(&app).started_calls().len(), 2);
    // Nothing is written: the call log fills from the call's events.
    let id = id.parse().unwrap();
    assert!(app.store.call_events(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_conversations_call_settings_come_with_it() {
    let app = app();
    let c = create(
        &app,
        json!({"reference": "ride-42", "call": {
            "announcement": "Putting you through to your {callee}.",
            "whisper": "Your {caller} is calling about {reference}.",
            "record": true,
        }}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let (status, _) = start(&app, id, json!({"from_index": 1})).await;
    assert_eq!(status, 202);
    let started = voice(&app).started_calls().pop().unwrap();
    assert_ncco(&started.ncco);
    let actions = started.ncco.as_array().unwrap();
    assert_eq!(
        actions[0]["text"], "Putting you through to your rider.",
        "the driver calls the rider"
    );
    assert_eq!(actions[1]["text"], "This call is recorded.");
    assert_eq!(actions[2]["action"], "record");
    let recording = carried(actions[2]["eventUrl"][0].as_str().unwrap());
    assert_eq!(recording.conversation_id.as_deref(), Some(id));
    let connect = &actions[3];
    let whisper = connect["endpoint"][0]["onAnswer"]["url"].as_str().unwrap();
    assert!(whisper.contains("/webhooks/whisper?"), "{whisper}");
    let whisper = carried(whisper);
    assert_eq!(
        (whisper.conversation_id.as_deref(), whisper.caller),
        (Some(id), Some(1))
    );
}

#[tokio::test]
async fn closed_expired_and_unknown_conversations_are_refused_with_nothing_sent() {
    let app = app();
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let (status, _) = read(
        handle(
            &app,
            request("DELETE", &format!("/conversations/{id}"), None),
        )
        .await,
    );
    assert_eq!(status, 200);
    let (status, body) = start(&app, id, json!({"from_index": 0})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conversation_closed"))
    );

    // Past its expiry, whether or not the sweep has run (rule 4).
    let now = shared::now();
    let expired = testkit::conversation(
        "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        ("447700900003", PA),
        ("447700900004", PB),
        now - 3600,
        now - 1,
    );
    app.store.create_conversation(&expired).await.unwrap();
    let (status, body) = start(&app, &expired.id.to_string(), json!({"from_index": 1})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conversation_closed"))
    );

    for unknown in ["0d8f3c1e-1f2a-4b5c-9d8e-7f6a5b4c3d2e", "not-an-id"] {
        let (status, body) = start(&app, unknown, json!({"from_index": 0})).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    }
    assert!(voice(&app).started_calls().is_empty());
    assert!(voice(&app).requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_bad_body_is_refused_before_anything_is_read_or_sent() {
    let app = app();
    let c = create(&app, json!({})).await;
    let path = format!("/conversations/{}/calls", c["id"].as_str().unwrap());
    for (body, code) in [
        (json!({"from_index": 2}), "invalid_request"),
        (json!({"from_index": -1}), "invalid_request"),
        (json!({}), "invalid_request"),
        (json!({"from_index": 0, "to": A}), "invalid_request"),
        (json!({"from_index": "0"}), "invalid_request"),
    ] {
        let (status, answer) = read(handle(&app, request("POST", &path, Some(body.clone()))).await);
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, answer) = read(
        handle(
            &app,
            raw("POST", &path, Some("application/json"), "{from_index"),
        )
        .await,
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, _) = read(handle(&app, request("GET", &path, None)).await);
    assert_eq!(status, 405);
    assert!(voice(&app).started_calls().is_empty());
}

#[tokio::test]
async fn a_voice_api_that_fails_or_refuses_leaves_nothing_written() {
    let app = app();
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let before = app.store.conversation(&id.parse().unwrap()).await.unwrap();

    voice(&app).fail("voice", true);
    let response = handle(
        &app,
        request(
            "POST",
            &format!("/conversations/{id}/calls"),
            Some(json!({"from_index": 0})),
        ),
    )
    .await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response);
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("vonage_unavailable"))
    );
    voice(&app).fail("voice", false);

    voice(&app).refuse("voice", true);
    let (status, body) = start(&app, id, json!({"from_index": 0})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("vonage_refused"))
    );
    assert!(!body.to_string().contains(A), "no number in the problem");

    let after = app.store.conversation(&id.parse().unwrap()).await.unwrap();
    assert_eq!(before, after);
    assert!(
        app.store
            .call_events(&id.parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Without the application's key there is no Voice API to ask.
    let mut without = app;
    without.calls = None;
    let (status, body) = start(&without, id, json!({"from_index": 0})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("vonage_unavailable"))
    );
}

#[tokio::test]
async fn a_conversation_that_relays_texts_only_connects_no_calls() {
    let app = app();
    let c = create(&app, json!({"mode": "sms"})).await;
    let (status, body) = start(&app, c["id"].as_str().unwrap(), json!({"from_index": 0})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    assert!(voice(&app).started_calls().is_empty());
}

#[tokio::test]
async fn nobody_is_rung_inside_their_quiet_hours() {
    let app = app();
    // The driver's window is the two hours around now, on UTC's clock (across midnight too).
    let minute = (shared::now() / 60).rem_euclid(24 * 60);
    let clock = |m: i64| {
        let m = m.rem_euclid(24 * 60);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let c = create(
        &app,
        json!({"participants": [
            {"number": A, "label": "rider"},
            {"number": B, "label": "driver", "time_zone": "UTC",
             "quiet_hours": {"start": clock(minute - 60), "end": clock(minute + 60)}},
        ]}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let (status, body) = start(&app, id, json!({"from_index": 0})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("quiet_hours")),
        "{body}"
    );
    assert!(
        voice(&app).requests().is_empty(),
        "the rider is not rung: nothing is sent"
    );

    // Nor is the driver rung first.
    let (status, body) = start(&app, id, json!({"from_index": 1})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("quiet_hours")),
        "{body}"
    );
    assert!(voice(&app).requests().is_empty());

    // Outside the window, the call is made.
    let app = self::app();
    let c = create(
        &app,
        json!({"participants": [
            {"number": A, "label": "rider"},
            {"number": B, "label": "driver", "time_zone": "UTC",
             "quiet_hours": {"start": clock(minute + 60), "end": clock(minute + 120)}},
        ]}),
    )
    .await;
    let (status, body) = start(&app, c["id"].as_str().unwrap(), json!({"from_index": 0})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(voice(&app).started_calls().len(), 1);
}
