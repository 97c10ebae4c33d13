//! The backend's hooks, end to end: the functions on one local store, a Vonage stand-in, and a
//! local hook server the test controls (wiremock) that answers each action, hangs, fails or
//! talks nonsense. Every NCCO is checked against `ncco-schema.json`; every request the hook
//! receives carries a signature that verifies by the documented algorithm; the events the hook
//! decisions publish are valid and name no real number.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use answer::{CallHooks, DEFAULT_TIMEOUT, Outcome};
use serde_json::{Value, json};
use shared::config::{CallConfig, ConversationConfig, HookConfig};
use shared::hook::{Hooks, SIGNATURE_HEADER, SignatureError, verify};
use shared::ncco::SILENCE;
use shared::runtime::Service;
use shared::signature::WebhookAuth;
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::requests::{call, json as json_request};
use testkit::{all_items, assert_event, fresh_store, mock_config, sent_sms, vonage_mock};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::connect;

const GB1: &str = "447700900101";
const GB2: &str = "447700900102";
const RIDER: &str = "447700900001";
const DRIVER: &str = "447700900002";
const STRANGER: &str = "447700900003";
const COURIER: &str = "447700900004";
const SECRET: &str = "the-hook-secret";

/// The functions with both hooks pointed at `hook`, over a pool of two numbers.
struct World {
    store: Store,
    vonage: MockServer,
    hook: MockServer,
    stack: common::Stack,
}

fn hooks(hook: &MockServer) -> Hooks {
    let config = HookConfig {
        out_of_session_url: Some(format!("{}/out-of-session", hook.uri())),
        intercept_url: Some(format!("{}/intercept", hook.uri())),
        timeout: Duration::from_millis(1500),
    };
    Hooks::new(&config, SECRET.into()).unwrap()
}

async fn world() -> World {
    let store = fresh_store().await;
    let vonage = vonage_mock().await;
    let hook = MockServer::start().await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let mut stack = common::Stack::new(&store, &client, 86_400);
    stack.answer.hooks.hooks = hooks(&hook);
    stack.texts.hooks = hooks(&hook);
    stack.add_numbers(&[GB1, GB2]).await;
    World {
        store,
        vonage,
        hook,
        stack,
    }
}

impl World {
    /// A conversation between `a` and `b` (with `extra` fields), as the API answered it.
    async fn create(&self, a: &str, b: &str, extra: Value) -> Value {
        let mut body = json!({"participants": [
            {"number": a, "label": "rider"}, {"number": b, "label": "driver"}
        ]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, c) = call(&self.stack.api, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 201, "{c}");
        c
    }

    async fn close(&self, c: &Value) {
        let id = c["id"].as_str().unwrap();
        let (status, _) = call(
            &self.stack.api,
            "DELETE",
            &format!("/conversations/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }

    async fn get(&self, c: &Value) -> Value {
        let id = c["id"].as_str().unwrap();
        call(
            &self.stack.api,
            "GET",
            &format!("/conversations/{id}"),
            None,
        )
        .await
        .1
    }

    /// The hook answers `response` from now on, at `at` (`/out-of-session` or `/intercept`),
    /// and forgets the requests it received.
    async fn hook_answers(&self, at: &str, response: ResponseTemplate) {
        self.hook.reset().await;
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(response)
            .mount(&self.hook)
            .await;
    }

    /// A call from `from` to `to`, answered as the function answers it in Lambda: within its
    /// budget, or with the function's own apology.
    async fn call(&self, to: &str, from: &str, id: &str) -> (Value, Outcome) {
        let req = json_request(
            "GET",
            &format!("/webhooks/answer?to={to}&from={from}&uuid={id}&conversation_uuid=CON-{id}"),
            None,
        );
        self.stack.answered(&req).await
    }

    /// The requests the hook received at `at`, as JSON, each checked against its signature.
    async fn asked(&self, at: &str) -> Vec<Value> {
        self.hook
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == at)
            .map(|r| {
                let header = r.headers[SIGNATURE_HEADER].to_str().unwrap();
                assert_eq!(
                    verify(SECRET.as_bytes(), header, &r.body, shared::now(), 300),
                    Ok(())
                );
                serde_json::from_slice(&r.body).unwrap()
            })
            .collect()
    }
}

fn answers(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn proxy(c: &Value, i: usize) -> String {
    c["participants"][i]["proxy_number"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn says(ncco: &Value) -> &str {
    assert_eq!(ncco.as_array().unwrap().len(), 1, "{ncco}");
    ncco[0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn the_lost_item_call_reopens_the_ride_and_reaches_the_driver() {
    let w = world().await;
    let ride = w
        .create(RIDER, DRIVER, json!({"reference": "ride-42"}))
        .await;
    w.close(&ride).await;
    let id = ride["id"].as_str().unwrap();
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "reopen", "conversation_id": id, "ttl_seconds": 900})),
    )
    .await;

    // An hour later the rider calls the number they had for the driver.
    let (ncco, outcome) = w.call(&proxy(&ride, 0), RIDER, "lost-1").await;
    assert_eq!(outcome, Outcome::HookConnected);
    assert_eq!(connect(&ncco), (DRIVER.to_owned(), proxy(&ride, 1)));

    // The hook was told who called which number, and which ride this was.
    let asked = w.asked("/out-of-session").await;
    assert_eq!(
        asked,
        [json!({
            "channel": "voice",
            "proxy_number": proxy(&ride, 0),
            "caller": RIDER,
            "last_conversation": {"id": id, "reference": "ride-42", "index": 0, "label": "rider", "status": "closed"},
        })]
    );

    // The ride is open again, so the driver can call back through it as before.
    let reopened = w.get(&ride).await;
    assert_eq!(reopened["status"], "active", "{reopened}");
    let (ncco, outcome) = w.call(&proxy(&ride, 1), DRIVER, "lost-2").await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(connect(&ncco), (RIDER.to_owned(), proxy(&ride, 0)));
}

/// Every way a call is connected to a participant's phone hangs up on a machine that answers:
/// a known route (after the intercept hook allows it), an access code's route, the
/// out-of-session hook's one-off bridge and its reopen.
#[tokio::test]
async fn every_connect_hangs_up_on_a_machine() {
    let mut w = world().await;
    let hangs_up = |ncco: &Value, how: &str| {
        let connect = ncco
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "connect")
            .unwrap_or_else(|| panic!("{how}: {ncco} connects nobody"));
        assert_eq!(connect["machineDetection"], "hangup", "{how}: {ncco}");
    };
    // Codes on, so a phone caller ID does not know is routed by the code typed.
    let codes = shared::config::AccessCodeConfig::from_source(&|name: &str| match name {
        "ACCESS_CODES" => Some("true".into()),
        "ACCESS_CODE_DIGITS" => Some("4".into()),
        _ => None,
    })
    .unwrap();
    w.stack.api.conversations.access_codes = Some(4);
    w.stack.answer.codes = codes;
    let ride = w.create(RIDER, DRIVER, json!({"intercept": true})).await;
    let id = ride["id"].as_str().unwrap();
    let rider_line = proxy(&ride, 0);

    // A known route, the intercept hook allowing it.
    w.hook_answers("/intercept", answers(json!({"action": "allow"})))
        .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "m-known").await;
    assert_eq!(outcome, Outcome::Connected, "{ncco}");
    hangs_up(&ncco, "a known route");

    // An access code typed from a phone caller ID does not know.
    let (asking, outcome) = w.call(&rider_line, STRANGER, "m-code").await;
    assert_eq!(outcome, Outcome::CodeAsked, "{asking}");
    let input = asking
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "input")
        .unwrap();
    let url = input["eventUrl"][0].as_str().unwrap();
    let path = &url[url.find("/webhooks/").unwrap()..];
    let typed = json_request(
        "POST",
        path,
        Some(json!({
            "to": rider_line, "from": STRANGER, "uuid": "m-code", "conversation_uuid": "CON-m-code",
            "dtmf": {"digits": ride["participants"][0]["code"], "timed_out": false},
        })),
    );
    let (ncco, outcome) = answer::code(&w.stack.answer, &typed, shared::now()).await;
    let ncco = common::checked(&ncco);
    assert_eq!(outcome, Outcome::CodeConnected, "{ncco}");
    hangs_up(&ncco, "an access code's route");

    // The out-of-session hook's bridge and reopen, once the ride has closed (codes off: caller
    // ID alone finds the freed pair).
    w.stack.answer.codes = None;
    w.close(&ride).await;
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "connect", "conversation_id": id})),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "m-bridge").await;
    assert_eq!(outcome, Outcome::HookConnected, "{ncco}");
    hangs_up(&ncco, "the hook's bridge");
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "reopen", "conversation_id": id, "ttl_seconds": 900})),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "m-reopen").await;
    assert_eq!(outcome, Outcome::HookConnected, "{ncco}");
    hangs_up(&ncco, "the hook's reopen");
    assert_eq!(w.get(&ride).await["status"], "active");
}

#[tokio::test]
async fn each_call_action_does_what_it_says() {
    let w = world().await;
    let ride = w.create(RIDER, DRIVER, json!({})).await;
    w.close(&ride).await;
    let id = ride["id"].as_str().unwrap();
    let rider_line = proxy(&ride, 0);

    // say: the backend's words, and nothing else.
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "say", "text": "Your ride has ended. Call support on the app."})),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "c-say").await;
    assert_eq!(outcome, Outcome::HookSaid);
    assert_eq!(says(&ncco), "Your ride has ended. Call support on the app.");

    // reject: the call ends without a word.
    w.hook_answers("/out-of-session", answers(json!({"action": "reject"})))
        .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "c-reject").await;
    assert_eq!(outcome, Outcome::HookRejected);
    assert_eq!(says(&ncco), SILENCE);

    // connect: a one-off bridge to the driver, shown the driver's proxy number; the ride stays
    // closed, and the call's events still reach its call log.
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "connect", "conversation_id": id})),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "c-connect").await;
    assert_eq!(outcome, Outcome::HookConnected);
    assert_eq!(connect(&ncco), (DRIVER.to_owned(), proxy(&ride, 1)));
    let event = json!({
        "from": RIDER, "to": rider_line, "uuid": "c-connect", "conversation_uuid": "CON-c-connect",
        "direction": "inbound", "status": "answered", "timestamp": "2026-11-25T10:00:00.000Z",
    });
    let (status, _) = call(&w.stack.calls, "POST", "/webhooks/event", Some(event)).await;
    assert_eq!(status, 204);
    let seen = w.get(&ride).await;
    assert_eq!(seen["status"], "closed", "{seen}");
    assert_eq!(seen["calls"][0]["id"], "CON-c-connect", "{seen}");

    // The driver, too, is asked about and can be bridged the other way.
    let (ncco, _) = w.call(&proxy(&ride, 1), DRIVER, "c-back").await;
    assert_eq!(connect(&ncco), (RIDER.to_owned(), rider_line.clone()));

    // Every hook answer carried out is published, naming no real number.
    let events = common::publish(&common::whole_stream(&w.store).await).await;
    let hooked: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.detail_type == "call.out_of_session")
        .map(|e| {
            (
                e.detail["action"].as_str().unwrap(),
                e.detail["channel"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hooked,
        [
            ("say", "voice"),
            ("reject", "voice"),
            ("connect", "voice"),
            ("connect", "voice")
        ]
    );
    for e in &events {
        assert_event(e, &[RIDER, DRIVER]);
    }
}

#[tokio::test]
async fn each_text_action_does_what_it_says() {
    let w = world().await;
    let ride = w.create(RIDER, DRIVER, json!({})).await;
    w.close(&ride).await;
    let id = ride["id"].as_str().unwrap();
    let rider_line = proxy(&ride, 0);
    let before = sent_sms(&w.vonage).await.len();

    // relay: the driver gets it from the number they know the rider by.
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "relay", "conversation_id": id})),
    )
    .await;
    w.stack
        .text(&rider_line, RIDER, "t-relay", "I left my umbrella")
        .await;
    let asked = w.asked("/out-of-session").await;
    assert_eq!(asked[0]["channel"], "sms");
    assert_eq!(asked[0]["text"], "I left my umbrella");
    assert_eq!(asked[0]["last_conversation"]["id"], id);
    // reply: the rider is answered from the number they texted.
    w.hook_answers(
        "/out-of-session",
        answers(json!({"action": "reply", "text": "This ride has ended; use the app."})),
    )
    .await;
    w.stack.text(&rider_line, RIDER, "t-reply", "hello?").await;
    // ignore: nothing goes anywhere.
    w.hook_answers("/out-of-session", answers(json!({"action": "ignore"})))
        .await;
    w.stack
        .text(&rider_line, RIDER, "t-ignore", "hello again")
        .await;

    let sent = sent_sms(&w.vonage).await[before..].to_vec();
    assert_eq!(
        sent,
        [
            (
                proxy(&ride, 1),
                DRIVER.to_owned(),
                "I left my umbrella".to_owned()
            ),
            (
                rider_line.clone(),
                RIDER.to_owned(),
                "This ride has ended; use the app.".to_owned()
            ),
        ]
    );
    // The relayed text is in the conversation's record.
    assert_eq!(w.get(&ride).await["messages"].as_array().unwrap().len(), 1);

    // A text to an open conversation that relays calls only is not the hook's to decide.
    let calls_only = w.create(STRANGER, COURIER, json!({"mode": "voice"})).await;
    w.hook.reset().await;
    w.stack
        .text(&proxy(&calls_only, 0), STRANGER, "t-voice-only", "hi")
        .await;
    assert!(w.asked("/out-of-session").await.is_empty());
}

#[tokio::test]
async fn a_misbehaving_hook_gets_the_safe_message_and_changes_nothing() {
    let w = world().await;
    let ride = w.create(RIDER, DRIVER, json!({})).await;
    w.close(&ride).await;
    // Someone else's conversation, open: the hook names it for a caller who is not in it.
    let other = w.create(STRANGER, COURIER, json!({})).await;
    let rider_line = proxy(&ride, 0);
    let safe = CallConfig::from_source(&|_: &str| None)
        .unwrap()
        .out_of_service;

    let misbehaviours = [
        (
            "hangs",
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(5))
                .set_body_json(json!({"action": "say", "text": "late"})),
        ),
        (
            "fails",
            ResponseTemplate::new(500)
                .set_body_json(json!({"action": "say", "text": "error page"})),
        ),
        (
            "talks nonsense",
            ResponseTemplate::new(200).set_body_string("<html>OK</html>"),
        ),
        (
            "answers an unknown action",
            answers(json!({"action": "dance"})),
        ),
        (
            "says nothing",
            answers(json!({"action": "say", "text": ""})),
        ),
        (
            "names a conversation the caller is not in",
            answers(json!({"action": "reopen", "conversation_id": other["id"]})),
        ),
        (
            "bridges into someone else's conversation",
            answers(json!({"action": "connect", "conversation_id": other["id"]})),
        ),
        (
            "relays into someone else's conversation",
            answers(json!({"action": "relay", "conversation_id": other["id"]})),
        ),
    ];
    let sms_before = sent_sms(&w.vonage).await.len();
    let items_before = all_items(&w.store).await.len();
    for (n, (what, response)) in misbehaviours.into_iter().enumerate() {
        w.hook_answers("/out-of-session", response).await;
        let (ncco, outcome) = w.call(&rider_line, RIDER, &format!("bad-{n}")).await;
        assert_eq!(says(&ncco), safe, "{what}");
        assert_eq!(outcome, Outcome::UnknownCaller, "{what}");
        w.stack
            .text(&rider_line, RIDER, &format!("bad-text-{n}"), "hello")
            .await;
    }
    // No text went anywhere, and the only items written are the texts' delivery claims.
    assert_eq!(sent_sms(&w.vonage).await.len(), sms_before);
    let written: Vec<String> = all_items(&w.store).await[..]
        .iter()
        .filter_map(|i| i["pk"].as_s().ok().cloned())
        .filter(|pk| pk.starts_with("HOOK#"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert_eq!(all_items(&w.store).await.len(), items_before + 8);
    assert_eq!(w.get(&ride).await["status"], "closed");
    assert_eq!(w.get(&other).await["status"], "active");
}

#[tokio::test]
async fn the_intercept_hook_allows_denies_and_lets_through_on_timeout() {
    let w = world().await;
    let ride = w
        .create(
            RIDER,
            DRIVER,
            json!({"intercept": true, "reference": "ride-7"}),
        )
        .await;
    assert_eq!(w.get(&ride).await["intercept"], true);
    let rider_line = proxy(&ride, 0);

    w.hook_answers("/intercept", answers(json!({"action": "allow"})))
        .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "i-allow").await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(connect(&ncco), (DRIVER.to_owned(), proxy(&ride, 1)));
    assert_eq!(
        w.asked("/intercept").await,
        [
            json!({"channel": "voice", "conversation_id": ride["id"], "reference": "ride-7", "from_index": 0, "to_index": 1})
        ]
    );

    let denial = "Calls to your driver are closed outside the delivery window.";
    w.hook_answers(
        "/intercept",
        answers(json!({"action": "deny", "text": denial})),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "i-deny").await;
    assert_eq!(outcome, Outcome::Denied);
    assert_eq!(says(&ncco), denial);
    let before = sent_sms(&w.vonage).await.len();
    w.stack
        .text(&rider_line, RIDER, "i-deny-text", "are you there?")
        .await;
    assert_eq!(
        sent_sms(&w.vonage).await[before..],
        [(rider_line.clone(), RIDER.to_owned(), denial.to_owned())],
        "the sender is told; the driver gets nothing"
    );

    // A hook that does not answer in time lets the call through; one that fails denies it.
    w.hook_answers(
        "/intercept",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
    )
    .await;
    let (ncco, outcome) = w.call(&rider_line, RIDER, "i-hang").await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(connect(&ncco).0, DRIVER);
    w.hook_answers("/intercept", ResponseTemplate::new(500))
        .await;
    let (_, outcome) = w.call(&rider_line, RIDER, "i-fail").await;
    assert_eq!(outcome, Outcome::Denied);

    // A conversation without `intercept` never asks.
    let plain = w.create(STRANGER, COURIER, json!({})).await;
    w.hook.reset().await;
    let (_, outcome) = w.call(&proxy(&plain, 0), STRANGER, "i-plain").await;
    assert_eq!(outcome, Outcome::Connected);
    assert!(w.asked("/intercept").await.is_empty());

    let events = common::publish(&common::whole_stream(&w.store).await).await;
    let denied: Vec<&str> = events
        .iter()
        .filter(|e| e.detail_type == "call.intercepted")
        .map(|e| e.detail["channel"].as_str().unwrap())
        .collect();
    assert_eq!(denied, ["voice", "sms"]);
    for e in &events {
        assert_event(e, &[RIDER, DRIVER, STRANGER, COURIER]);
    }
}

#[tokio::test]
async fn a_hung_hook_is_cut_off_inside_the_calls_own_budget() {
    // Through the function's runtime, as Lambda runs it: were the hook given more than the
    // call's budget, the caller would hear the runtime's apology instead of the safe message.
    let w = world().await;
    let ride = w.create(RIDER, DRIVER, json!({})).await;
    w.close(&ride).await;
    w.hook_answers(
        "/out-of-session",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(10)),
    )
    .await;
    let config = CallConfig::from_source(&|_: &str| None).unwrap();
    let (store, hook) = (w.store.clone(), hooks(&w.hook));
    let built = config.clone();
    let apology = config.clone();
    let service = Service::new(
        move || {
            let deps = answer::Deps {
                store: store.clone(),
                call: built.clone(),
                auth: WebhookAuth::Off,
                methods: shared::config::WebhookMethods::Any,
                hooks: CallHooks {
                    hooks: hook.clone(),
                    conversations: ConversationConfig::from_source(&|_: &str| None).unwrap(),
                    budget: DEFAULT_TIMEOUT,
                },
                voice: None::<shared::vonage::VoiceClient>,
                codes: None,
            };
            async move { Ok::<_, lambda_http::Error>(deps) }
        },
        move |_| answer::unavailable(&apology),
        DEFAULT_TIMEOUT,
    );
    let req = json_request(
        "GET",
        &format!(
            "/webhooks/answer?to={}&from={RIDER}&uuid=h&conversation_uuid=CON-h",
            proxy(&ride, 0)
        ),
        None,
    );
    let (status, ncco) = testkit::requests::read(service.call(req).await);
    assert_eq!(status, 200);
    assert_eq!(says(&ncco), config.out_of_service);
}

#[test]
fn a_tampered_body_fails_verification() {
    let body = br#"{"channel":"voice","proxy_number":"447700900101","caller":"447700900001","last_conversation":null}"#;
    let header = shared::hook::sign(SECRET.as_bytes(), 1_700_000_000, body);
    assert_eq!(
        verify(SECRET.as_bytes(), &header, body, 1_700_000_001, 300),
        Ok(())
    );
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("447700900001", "447700900009");
    assert_eq!(
        verify(
            SECRET.as_bytes(),
            &header,
            tampered.as_bytes(),
            1_700_000_001,
            300
        ),
        Err(SignatureError::Mismatch)
    );
}

/// The verification code docs/features.md gives backends, run as written: it accepts what the
/// hook client signs and refuses a tampered body, another secret and an old timestamp.
#[test]
fn the_documented_verification_code_agrees_with_the_signature() {
    let doc = std::fs::read_to_string(format!(
        "{}/../docs/features.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let after = doc
        .split_once("<!-- hook-verification")
        .expect("docs/features.md marks its verification code")
        .1;
    let code = after
        .split_once("```python\n")
        .unwrap()
        .1
        .split_once("```")
        .unwrap()
        .0;
    let body = r#"{"channel":"voice","proxy_number":"447700900101","caller":"447700900001","last_conversation":null}"#;
    let now = shared::now();
    let run = |secret: &str, header: &str, body: &str| -> String {
        let program = format!(
            "{code}\nimport os\nprint(verify(os.environ['SECRET'].encode(), os.environ['HEADER'], os.environ['BODY'].encode()))\n"
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &program])
            .env("SECRET", secret)
            .env("HEADER", header)
            .env("BODY", body)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let header = shared::hook::sign(SECRET.as_bytes(), now, body.as_bytes());
    assert_eq!(run(SECRET, &header, body), "True");
    assert_eq!(run(SECRET, &header, &body.replace("0001", "0009")), "False");
    assert_eq!(run("another-secret", &header, body), "False");
    let old = shared::hook::sign(SECRET.as_bytes(), now - 3600, body.as_bytes());
    assert_eq!(run(SECRET, &old, body), "False");
}
