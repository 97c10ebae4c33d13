//! Access codes end to end: the functions on one local store with codes on, calls followed
//! from the answer webhook through the code prompt's own webhook to the connect and its events,
//! and texts through the relay. Every NCCO is checked against `ncco-schema.json`.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{HashMap, HashSet};

use answer::Outcome;
use serde_json::{Value, json};
use shared::config::AccessCodeConfig;
use shared::runtime::Handler;
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::requests::{call, json as json_request};
use testkit::{all_items, fresh_store, mock_config, sent_sms, vonage_mock};
use wiremock::MockServer;

mod common;

use common::{checked, connect};

const GB1: &str = "447700900101";
const GB2: &str = "447700900102";
const GB3: &str = "447700900103";
const COURIER: &str = "447700900004";
const RIDER: &str = "447700900001";
const DRIVER: &str = "447700900002";
const STRANGER: &str = "447700900003";

/// Codes of 4 digits; a number's daily budget of guesses is a tenth of all codes (the default
/// odds are tested apart), so that a caller's own lock-out comes first.
fn codes() -> AccessCodeConfig {
    AccessCodeConfig::from_source(&|name: &str| match name {
        "ACCESS_CODES" => Some("true".into()),
        "ACCESS_CODE_DIGITS" => Some("4".into()),
        "ACCESS_CODE_GUESS_ODDS" => Some("10".into()),
        _ => None,
    })
    .unwrap()
    .unwrap()
}

/// The functions with access codes on (4 digits, 2 more tries, locked after 6 wrong codes for
/// an hour), over a pool of `pool` numbers.
struct World {
    store: Store,
    vonage: MockServer,
    stack: common::Stack,
}

async fn world(pool: &[&str]) -> World {
    let store = fresh_store().await;
    let vonage = vonage_mock().await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let mut stack = common::Stack::new(&store, &client, 86_400);
    stack.api.conversations.access_codes = Some(4);
    stack.answer.codes = Some(codes());
    stack.texts.sms.codes = Some(codes());
    stack.add_numbers(pool).await;
    World {
        store,
        vonage,
        stack,
    }
}

/// Where an NCCO URL points, as a path and query on our webhooks.
fn local(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
}

impl World {
    async fn create(&self, a: &str, b: &str) -> Value {
        // A day: long enough to outlive a lock-out.
        let body = json!({"participants": [
            {"number": a, "label": "courier"}, {"number": b, "label": "customer"}
        ], "ttl_seconds": 86_400});
        let (status, c) = call(&self.stack.api, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 201, "{c}");
        c
    }

    /// A call from `from` (a number, or `""` for a withheld one) to `to`.
    async fn call(&self, to: &str, from: &str, id: &str) -> (Value, Outcome) {
        let req = json_request(
            "POST",
            "/webhooks/answer",
            Some(
                json!({"to": to, "from": from, "uuid": id, "conversation_uuid": format!("CON-{id}")}),
            ),
        );
        self.stack.answered(&req).await
    }

    /// `keys` typed at the prompt `asking` put up, at `now`.
    async fn type_keys(
        &self,
        asking: &Value,
        to: &str,
        from: &str,
        id: &str,
        keys: &str,
        now: i64,
    ) -> (Value, Outcome) {
        let input = asking
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "input")
            .unwrap_or_else(|| panic!("{asking} asks for nothing"));
        assert_eq!(input["maxDigits"], 4);
        assert_eq!(input["submitOnHash"], true);
        let req = json_request(
            "POST",
            &local(input["eventUrl"][0].as_str().unwrap()),
            Some(json!({
                "to": to, "from": from, "uuid": id, "conversation_uuid": format!("CON-{id}"),
                "dtmf": {"digits": keys, "timed_out": keys.len() < 4},
            })),
        );
        let (ncco, outcome) = answer::code(&self.stack.answer, &req, now).await;
        (checked(&ncco), outcome)
    }

    /// A call by code: the prompt, then `code` typed; what the call came to.
    async fn call_with_code(&self, to: &str, from: &str, id: &str, code: &str) -> Value {
        let (asking, outcome) = self.call(to, from, id).await;
        assert_eq!(outcome, Outcome::CodeAsked, "{asking}");
        let (ncco, outcome) = self
            .type_keys(&asking, to, from, id, code, shared::now())
            .await;
        assert_eq!(outcome, Outcome::CodeConnected, "{ncco}");
        ncco
    }

    async fn sent(&self) -> Vec<(String, String, String)> {
        sent_sms(&self.vonage).await
    }
}

fn says(ncco: &Value) -> &str {
    assert_eq!(ncco.as_array().unwrap().len(), 1, "{ncco}");
    ncco[0]["text"].as_str().unwrap()
}

fn field<'a>(c: &'a Value, i: usize, name: &str) -> &'a str {
    c["participants"][i][name].as_str().unwrap()
}

#[tokio::test]
async fn codes_stay_unique_on_one_number_under_100_parallel_creations() {
    let w = world(&[GB1]).await;
    let pairs: Vec<(String, String)> = (0..100)
        .map(|i| (format!("4477009{i:05}"), format!("4477008{i:05}")))
        .collect();
    let created = futures::future::join_all(pairs.iter().map(|(a, b)| {
        let body = json!({"participants": [{"number": a}, {"number": b}]});
        call(&w.stack.api, "POST", "/conversations", Some(body))
    }))
    .await;
    let mut codes = HashSet::new();
    for (status, c) in &created {
        assert_eq!(*status, 201, "{c}");
        for i in 0..2 {
            assert_eq!(field(c, i, "proxy_number"), GB1);
            assert_eq!(field(c, i, "code").len(), 4);
            codes.insert(field(c, i, "code").to_owned());
        }
    }
    assert_eq!(
        codes.len(),
        200,
        "every participant's code on the number differs"
    );
    let items = all_items(&w.store).await;
    let code_items = items
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("CODE#")))
        .count();
    assert_eq!(code_items, 200, "one code item each, nothing half-written");
}

#[tokio::test]
async fn a_courier_in_30_conversations_over_3_numbers_reaches_and_is_reached_by_everyone() {
    let w = world(&[GB1, GB2, GB3]).await;
    let customers: Vec<String> = (0..30).map(|i| format!("4477008{i:05}")).collect();
    let mut rides = Vec::new();
    for customer in &customers {
        rides.push(w.create(COURIER, customer).await);
    }
    let mut on_number: HashMap<&str, usize> = HashMap::new();
    for ride in &rides {
        *on_number.entry(field(ride, 0, "proxy_number")).or_default() += 1;
    }
    assert_eq!(
        on_number.len(),
        3,
        "the courier's rides spread over the pool"
    );
    assert_eq!(
        rides
            .iter()
            .filter(|r| r["participants"][0]["shared"] == true)
            .count(),
        27,
        "once each number is taken, the courier shares"
    );

    for (i, (ride, customer)) in rides.iter().zip(&customers).enumerate() {
        let (courier_proxy, customer_proxy) = (
            field(ride, 0, "proxy_number"),
            field(ride, 1, "proxy_number"),
        );
        // The customer is known by caller ID: connected at once, the courier sees the
        // customer's proxy number.
        let (ncco, outcome) = w.call(customer_proxy, customer, &format!("in-{i}")).await;
        assert_eq!(outcome, Outcome::Connected);
        let (callee, caller_id) = connect(&ncco);
        assert_eq!(
            (callee.as_str(), caller_id.as_str()),
            (COURIER, courier_proxy)
        );
        // The courier shares their number: the code says which ride.
        let ncco = w
            .call_with_code(
                courier_proxy,
                COURIER,
                &format!("out-{i}"),
                field(ride, 0, "code"),
            )
            .await;
        let (callee, caller_id) = connect(&ncco);
        assert_eq!(
            (callee.as_str(), caller_id.as_str()),
            (customer.as_str(), customer_proxy)
        );
    }

    // Texts: the courier's start with the ride's code, which is taken off; the customers' go as
    // always.
    for (i, ride) in rides.iter().enumerate() {
        let code = field(ride, 0, "code");
        let courier_proxy = field(ride, 0, "proxy_number");
        w.stack
            .text(
                courier_proxy,
                COURIER,
                &format!("t-{i}"),
                &format!("{code} at the gate {i}"),
            )
            .await;
    }
    let sent = w.sent().await;
    for (i, (ride, customer)) in rides.iter().zip(&customers).enumerate() {
        let text = format!("at the gate {i}");
        let to_customer: Vec<_> = sent.iter().filter(|(_, _, t)| *t == text).collect();
        assert_eq!(to_customer.len(), 1, "{text} sent once");
        let (from, to, _) = to_customer[0];
        assert_eq!(
            (from.as_str(), to.as_str()),
            (field(ride, 1, "proxy_number"), customer.as_str())
        );
    }
    // The customers' texts reach the courier as always, from the number the courier texts them
    // on.
    w.stack
        .text(
            field(&rides[7], 1, "proxy_number"),
            &customers[7],
            "t-customer",
            "coming down",
        )
        .await;
    let sent = w.sent().await;
    let (from, to, _) = sent.iter().find(|(_, _, t)| t == "coming down").unwrap();
    assert_eq!(
        (from.as_str(), to.as_str()),
        (field(&rides[7], 0, "proxy_number"), COURIER)
    );
    let before = w.sent().await.len();
    w.stack
        .text(
            field(&rides[0], 0, "proxy_number"),
            COURIER,
            "t-bare",
            "where are you?",
        )
        .await;
    let sent = w.sent().await;
    assert_eq!(sent.len(), before + 1, "one reply, nothing relayed");
    let (from, to, text) = sent.last().unwrap();
    assert_eq!(
        (from.as_str(), to.as_str()),
        (field(&rides[0], 0, "proxy_number"), COURIER)
    );
    assert!(text.contains("4-digit code"), "{text}");

    let (status, pool) = call(&w.stack.numbers, "GET", "/numbers", None).await;
    assert_eq!(status, 200);
    assert_eq!(pool["summary"]["participants_sharing"], 1, "{pool}");
    let most = on_number.values().max().copied().unwrap();
    assert!(most >= 10);
    assert_eq!(pool["summary"]["most_on_one_number"], most, "{pool}");
}

#[tokio::test]
async fn an_unknown_phone_with_the_right_code_connects_and_wrong_codes_end_the_call() {
    let logs = common::Captured::default();
    let writer = logs.clone();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let w = world(&[GB1, GB2]).await;
    let ride = w.create(RIDER, DRIVER).await;
    let (rider_proxy, driver_proxy) = (
        field(&ride, 0, "proxy_number"),
        field(&ride, 1, "proxy_number"),
    );
    let rider_code = field(&ride, 0, "code").to_owned();
    assert_ne!(rider_code, field(&ride, 1, "code"), "two codes, one each");

    // The rider calls from a borrowed phone, then from a withheld number.
    for (from, id) in [(STRANGER, "borrowed"), ("", "withheld")] {
        let ncco = w.call_with_code(rider_proxy, from, id, &rider_code).await;
        let (callee, caller_id) = connect(&ncco);
        let event_url = common::event_url(&ncco);
        assert_eq!(
            (callee.as_str(), caller_id.as_str()),
            (DRIVER, driver_proxy)
        );
        // The callee's leg reports through the URL that names the ride.
        for status in ["ringing", "answered", "completed"] {
            let req = json_request(
                "POST",
                &local(&event_url),
                Some(json!({
                    "from": driver_proxy, "to": DRIVER, "uuid": format!("leg-{id}"),
                    "conversation_uuid": format!("CON-{id}"), "status": status,
                    "direction": "outbound", "timestamp": "2026-12-04T10:00:00.000Z",
                })),
            );
            assert_eq!(w.stack.calls.handle(req).await.status(), 204);
        }
        // The caller's own leg ends after the callee's began: the default event URL, which
        // names no conversation, and a caller ID that routes nowhere; the call log places it.
        let req = json_request(
            "POST",
            "/webhooks/event",
            Some(json!({
                "from": from, "to": rider_proxy, "uuid": format!("in-{id}"),
                "conversation_uuid": format!("CON-{id}"), "status": "completed",
                "direction": "inbound", "timestamp": "2026-12-04T10:00:01.000Z",
                "duration": "61", "price": "0.00500000", "rate": "0.00500000",
            })),
        );
        assert_eq!(w.stack.calls.handle(req).await.status(), 204);
    }
    let id = ride["id"].as_str().unwrap();
    let (_, view) = call(&w.stack.api, "GET", &format!("/conversations/{id}"), None).await;
    let log = view["calls"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{view}");
    for c in log {
        assert_eq!(c["routed_by"], "code", "{c}");
        assert_eq!(c["status"], "completed", "{c}");
        assert_eq!(c["price"], "0.00500000", "the caller's leg is counted: {c}");
        let legs: Vec<&str> = c["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["leg"].as_str().unwrap_or_default())
            .collect();
        assert!(legs.contains(&"caller"), "{c}");
        assert!(c["uuid"].as_str().unwrap().starts_with("in-"), "{c}");
    }
    // The driver's own call goes by caller ID, and says so.
    let (ncco, outcome) = w.call(driver_proxy, DRIVER, "direct").await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(connect(&ncco).0, RIDER);

    // A wrong code, three times: asked again twice, then the call ends politely.
    let wrong = if rider_code == "0000" { "1111" } else { "0000" };
    let (mut asking, outcome) = w.call(rider_proxy, STRANGER, "guess").await;
    assert_eq!(outcome, Outcome::CodeAsked);
    for expected in [
        Outcome::CodeRetried,
        Outcome::CodeRetried,
        Outcome::CodeRefused,
    ] {
        let (ncco, outcome) = w
            .type_keys(
                &asking,
                rider_proxy,
                STRANGER,
                "guess",
                wrong,
                shared::now(),
            )
            .await;
        assert_eq!(outcome, expected, "{ncco}");
        asking = ncco;
    }
    assert_eq!(says(&asking), codes().refused);
    // Typing nothing takes the out-of-session path: not in service, as without codes.
    let (asking, _) = w.call(rider_proxy, STRANGER, "silent").await;
    let (ncco, outcome) = w
        .type_keys(&asking, rider_proxy, STRANGER, "silent", "", shared::now())
        .await;
    assert_eq!(outcome, Outcome::UnknownCaller);
    assert!(says(&ncco).contains("not in service"), "{ncco}");

    // No code, right or wrong, was logged.
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("code_refused"), "the capture works");
    let tokens: HashSet<&str> = logs.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    for code in [rider_code.as_str(), field(&ride, 1, "code"), wrong] {
        assert!(!tokens.contains(code), "a code in the logs:\n{logs}");
    }
}

#[tokio::test]
async fn too_many_wrong_codes_lock_a_caller_out_until_the_lock_expires() {
    let w = world(&[GB1, GB2]).await;
    let ride = w.create(RIDER, DRIVER).await;
    let rider_proxy = field(&ride, 0, "proxy_number");
    let rider_code = field(&ride, 0, "code").to_owned();
    let wrong = if rider_code == "0000" { "1111" } else { "0000" };
    let config = codes();
    let start = shared::now();
    let (asking, _) = w.call(rider_proxy, STRANGER, "lock").await;
    // Six wrong codes over two calls: the sixth locks.
    for n in 1..=config.max_failures {
        let (ncco, outcome) = w
            .type_keys(
                &asking,
                rider_proxy,
                STRANGER,
                "lock",
                wrong,
                start + i64::from(n),
            )
            .await;
        if n < config.max_failures {
            assert_ne!(outcome, Outcome::CodeLocked, "{n}: {ncco}");
        } else {
            assert_eq!(outcome, Outcome::CodeLocked, "{ncco}");
            assert_eq!(says(&ncco), config.locked);
        }
    }
    // The right code does not help while locked; another phone is not locked.
    let later = start + 600;
    let (ncco, outcome) = w
        .type_keys(&asking, rider_proxy, STRANGER, "lock", &rider_code, later)
        .await;
    assert_eq!(outcome, Outcome::CodeLocked, "{ncco}");
    let (asking_other, _) = w.call(rider_proxy, "447700900009", "other").await;
    let (_, outcome) = w
        .type_keys(
            &asking_other,
            rider_proxy,
            "447700900009",
            "other",
            &rider_code,
            later,
        )
        .await;
    assert_eq!(outcome, Outcome::CodeConnected);
    // The lock is an item that expires with its period: the TTL attribute is set to it.
    let items = all_items(&w.store).await;
    let lock = items
        .iter()
        .find(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("CODEFAIL#")))
        .expect("a lock item");
    let ttl: i64 = lock["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        ttl,
        start + i64::from(config.max_failures) + config.lockout_seconds
    );
    // After it, the right code connects again.
    let (ncco, outcome) = w
        .type_keys(&asking, rider_proxy, STRANGER, "lock", &rider_code, ttl + 1)
        .await;
    assert_eq!(outcome, Outcome::CodeConnected, "{ncco}");
    assert_eq!(connect(&ncco).0, DRIVER);
}
