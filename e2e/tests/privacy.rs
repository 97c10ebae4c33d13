//! No real number in the logs: a whole scenario (pool, create, calls both ways, events, the call
//! log, listing, close, expiry, refusals) runs with every log line captured at DEBUG, and no
//! number may show more than its country calling code and last 2 digits there.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::{Conversations, MissedCalls};
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, RequestExt};
use serde_json::json;
use shared::vonage::VonageClient;
use testkit::{fresh_store, mock_config, vonage_mock};

mod common;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const RIDER: &str = "447700900001";
const DRIVER: &str = "447700900002";
const OTHER: &str = "447700900003";

fn req(
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
    query: &[(&str, &str)],
) -> Request {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:9000");
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let body = body
        .map(|v| Body::Text(v.to_string()))
        .unwrap_or(Body::Empty);
    let params: std::collections::HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    b.body(body).unwrap().with_query_string_parameters(params)
}

fn json_of(r: &lambda_http::Response<Body>) -> serde_json::Value {
    match r.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    }
}

#[test]
fn a_whole_scenario_logs_no_real_number() {
    // The scenario awaits every function's handler in turn, and an unoptimised build keeps
    // that whole future on the stack of the thread that runs it: give it room.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(scenario())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn scenario() {
    let logs = common::Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let store = fresh_store().await;
    let vonage = vonage_mock().await;
    // One participant's SMS is refused with a message that quotes the number.
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .and(wiremock::matchers::body_string_contains(format!("to={OTHER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message-count": "1", "messages": [{"status": "6", "error-text": format!("Unroutable message - rejected: {OTHER}")}]
        })))
        .with_priority(1)
        .mount(&vonage)
        .await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let common::Stack {
        numbers,
        api,
        answer,
        calls: events,
        texts,
        notifier,
    } = common::Stack::new(&store, &client, 60);

    for n in ["447700900101", "447700900102"] {
        assert_eq!(
            numbers::handle(
                &numbers,
                req("POST", "/numbers", Some(json!({"msisdn": n})), &[])
            )
            .await
            .status(),
            201
        );
    }
    let created = conversations::handle(&api, req("POST", "/conversations", Some(json!({
        "participants": [{"number": "+44 7700 900001", "label": "rider"}, {"number": DRIVER, "label": "driver"}],
        "expiry_mode": "sliding"
    })), &[])).await;
    assert_eq!(created.status(), 201);
    let c = json_of(&created);
    let id = c["id"].as_str().unwrap().to_owned();
    let (pa, pb) = (
        c["participants"][0]["proxy_number"]
            .as_str()
            .unwrap()
            .to_owned(),
        c["participants"][1]["proxy_number"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // Calls both ways, a stranger, and the events of a call.
    for (to, from) in [
        (pa.as_str(), RIDER),
        (pb.as_str(), DRIVER),
        (pa.as_str(), OTHER),
    ] {
        let r = answer::handle(
            &answer,
            req(
                "GET",
                "/webhooks/answer",
                None,
                &[
                    ("to", to),
                    ("from", from),
                    ("uuid", "u"),
                    ("conversation_uuid", "CON-P"),
                ],
            ),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    for status in ["started", "ringing", "answered", "completed"] {
        let body = json!({"from": RIDER, "to": pa, "uuid": "u", "conversation_uuid": "CON-P", "status": status, "direction": "inbound", "duration": "5"});
        assert_eq!(
            event::handle(&events, req("POST", "/webhooks/event", Some(body), &[]))
                .await
                .status(),
            204
        );
    }
    let stranger = json!({"from": OTHER, "to": pa, "uuid": "x", "conversation_uuid": "CON-X", "status": "started", "direction": "inbound"});
    event::handle(&events, req("POST", "/webhooks/event", Some(stranger), &[])).await;

    // A call the driver does not take: the rider hears why, the driver is texted; neither the
    // spoken text nor the SMS carries the other's number.
    let busy = json!({"from": pb, "to": DRIVER, "uuid": "m", "conversation_uuid": "CON-M", "status": "busy", "direction": "outbound"});
    let told = event::handle(&events, req("POST", "/webhooks/event", Some(busy), &[])).await;
    assert_eq!(told.status(), 200);
    let told = json_of(&told).to_string();
    assert!(!told.contains(RIDER) && !told.contains(DRIVER), "{told}");
    let conversation_id: shared::values::ConversationId = id.parse().unwrap();
    let notice = store
        .missed_call(&conversation_id, 0)
        .await
        .unwrap()
        .unwrap();
    let image = shared::store::missed_call_image(&notice, notice.at + 600).unwrap();
    let batch = testkit::stream_batch(vec![testkit::stream_record(1, None, Some(image))]);
    let (response, _) = notifier::handle(&notifier, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = testkit::sent_sms(&vonage).await;
    let (_, _, to_driver) = sent.iter().find(|(_, to, _)| to == DRIVER).unwrap();
    assert!(!to_driver.contains(RIDER), "{to_driver}");

    // The log, the list by participant, refusals that carry numbers, a failed SMS, close.
    assert_eq!(
        conversations::handle(&api, req("GET", &format!("/conversations/{id}"), None, &[]))
            .await
            .status(),
        200
    );
    conversations::handle(
        &api,
        req("GET", "/conversations", None, &[("participant", RIDER)]),
    )
    .await;
    conversations::handle(
        &api,
        req(
            "POST",
            "/conversations",
            Some(json!({"participants": [{"number": RIDER}, {"number": "+44 7700 900001"}]})),
            &[],
        ),
    )
    .await;
    conversations::handle(
        &api,
        req(
            "POST",
            "/conversations",
            Some(json!({"participants": [{"number": RIDER}, {"number": "4477009000012345"}]})),
            &[],
        ),
    )
    .await;
    let second = conversations::handle(
        &api,
        req(
            "POST",
            "/conversations",
            Some(
                json!({"participants": [{"number": OTHER}, {"number": DRIVER}], "ttl_seconds": 60}),
            ),
            &[],
        ),
    )
    .await;
    assert_eq!(json_of(&second)["participants"][0]["notified"], "pending");
    // The notifier sends its SMS from the change stream; the one to OTHER is refused.
    let second_id: shared::values::ConversationId =
        json_of(&second)["id"].as_str().unwrap().parse().unwrap();
    let written = store.conversation(&second_id).await.unwrap().unwrap();
    let image = shared::store::conversation_image(&written).unwrap();
    let batch = testkit::stream_batch(vec![testkit::stream_record(1, None, Some(image))]);
    let (response, _) = notifier::handle(&notifier, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let notified = store.conversation(&second_id).await.unwrap().unwrap();
    let failed = notified.participants[0].notification.as_ref().unwrap();
    assert_eq!(failed.status, shared::model::NotificationStatus::Failed);
    assert_eq!(
        conversations::handle(
            &api,
            req("DELETE", &format!("/conversations/{id}"), None, &[])
        )
        .await
        .status(),
        200
    );
    answer::handle(
        &answer,
        req(
            "GET",
            "/webhooks/answer",
            None,
            &[("to", &pa), ("from", RIDER)],
        ),
    )
    .await;

    // The rider calls again with the backend's out-of-session hook set: once it bridges the call,
    // once it answers nonsense, once it cannot be reached.
    let hook = wiremock::MockServer::start().await;
    let hook_config = |url: String| shared::config::HookConfig {
        out_of_session_url: Some(url),
        intercept_url: None,
        timeout: Duration::from_millis(500),
    };
    let mut answer = answer;
    for (response, url) in [
        (
            json!({"action": "connect", "conversation_id": id}),
            hook.uri(),
        ),
        (json!({"action": "dance"}), hook.uri()),
        (json!({}), "http://127.0.0.1:9".to_owned()),
    ] {
        hook.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(response))
            .mount(&hook)
            .await;
        answer.hooks.hooks =
            shared::hook::Hooks::new(&hook_config(url), "hook-secret".into()).unwrap();
        let r = answer::handle(
            &answer,
            req(
                "GET",
                "/webhooks/answer",
                None,
                &[("to", &pa), ("from", RIDER), ("conversation_uuid", "CON-H")],
            ),
        )
        .await;
        assert_eq!(r.status(), 200);
    }

    // OTHER texts DRIVER through the second conversation, and then opts out.
    let proxy = json_of(&second)["participants"][0]["proxy_number"]
        .as_str()
        .unwrap()
        .to_owned();
    // Texts to OTHER are refused by the mock: the STOP confirmation fails, and is retried later.
    for (id, words, status) in [
        ("m1", "PRIVATE-WORDS meet at gate 4", 200),
        ("m2", "STOP", 503),
    ] {
        let r = sms::handle(
            &texts,
            req(
                "GET",
                "/webhooks/inbound-sms",
                None,
                &[
                    ("msisdn", OTHER),
                    ("to", &proxy),
                    ("messageId", id),
                    ("text", words),
                    ("type", "text"),
                ],
            ),
        )
        .await;
        assert_eq!(r.status(), status, "{words}");
    }

    // The other conversation expires and is swept.
    let sweeper: expiry::Deps = expiry::Deps {
        store: store.clone(),
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention { seconds: 60 },
            cool_off_seconds: 600,
        },
        max_per_run: 10,
        concurrency: 2,
        safety_margin: Duration::ZERO,
        notify: Some(expiry::Notify {
            vonage: client,
            template: "Ended; no longer reaches your {other}.".into(),
            texts: shared::config::Texts::default(),
        }),
    };
    let report = expiry::sweep(
        &sweeper,
        shared::now() + 120,
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert_eq!(report.closed, 1);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 15, "the scenario logged: {text}");
    for hooked in [
        "one-off bridge",
        "reason=\"unreadable\"",
        "reason=\"unreachable\"",
    ] {
        assert!(
            text.contains(hooked),
            "the hook's calls were logged ({hooked}): {text}"
        );
    }
    assert!(
        text.contains("rejected: +44•••••••03"),
        "Vonage's error text is masked too: {text}"
    );
    assert!(
        text.contains("+44•••••••01"),
        "numbers appear masked: {text}"
    );
    // A masked number shows its country calling code and its last 2 digits, nothing more.
    let shown = regex::Regex::new(r"(\d*)\+?(\d*)•+(\d*)").unwrap();
    for (i, line) in text.lines().enumerate() {
        for m in shown.captures_iter(line) {
            assert!(
                m[1].is_empty() && m[2].len() <= 3 && m[3].len() <= 2,
                "line {i} shows more of a number than its country code and last 2 digits: {line}"
            );
        }
    }
    assert!(text.contains("inbound SMS handled"), "{text}");
    assert!(
        !text.contains("PRIVATE-WORDS"),
        "message text is never logged: {text}"
    );
    for number in [RIDER, DRIVER, OTHER] {
        for (i, line) in text.lines().enumerate() {
            assert!(!line.contains(number), "line {i} shows {number}: {line}");
        }
    }
}
