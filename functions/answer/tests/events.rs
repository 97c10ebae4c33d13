//! Every file in `events/` parses as an API Gateway event for a function of the workspace, and
//! the answer events play out as their names say.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::signature::WebhookAuth;

use answer::{Deps, Outcome, answer};
use shared::config::CallConfig;

fn events_dir() -> String {
    format!("{}/../../events", env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(format!("{}/{name}", events_dir())).unwrap();
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The answer function over a store holding `c`, with `codes` as configured.
fn deps(
    c: shared::model::Conversation,
    codes: Option<shared::config::AccessCodeConfig>,
) -> Deps<testkit::fakes::MemoryStore> {
    Deps {
        store: testkit::fakes::MemoryStore::with([c]),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: answer::CallHooks::off().unwrap(),
        voice: None,
        codes,
    }
}

#[test]
fn every_event_file_parses_and_names_a_function() {
    // HTTP functions take API Gateway events; expiry takes the schedule's, the publisher and
    // the notifier the stream's, the set-up CloudFormation's, replace the bus rule's (their
    // own tests parse them).
    let http_functions = [
        "answer",
        "conversations",
        "numbers",
        "event",
        "sms",
        "recordings",
    ];
    let mut count = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let function = name.split('-').next().unwrap();
        if [
            "expiry",
            "publisher",
            "notifier",
            "setup",
            "replace",
            "warn",
        ]
        .contains(&function)
        {
            continue;
        }
        assert!(
            http_functions.contains(&function),
            "{name} is for no function of the workspace"
        );
        let req = load(&name);
        assert!(req.uri().path().starts_with('/'), "{name}");
        count += 1;
    }
    assert!(count >= 20);
}

#[tokio::test]
async fn the_answer_events_play_as_named() {
    let c = testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        0,
        i64::MAX / 2,
    );
    let deps = deps(c, None);
    for (file, expected) in [
        ("answer-known.json", Outcome::Connected),
        ("answer-post.json", Outcome::Connected),
        ("answer-fallback.json", Outcome::Connected),
        ("answer-unknown.json", Outcome::UnknownCaller),
    ] {
        let (ncco, outcome) = answer(&deps, &load(file), shared::now()).await;
        assert_eq!(outcome, expected, "{file}");
        if expected == Outcome::Connected {
            assert!(
                ncco.to_json()
                    .contains("https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/event"),
                "{file}"
            );
        }
    }
}

#[tokio::test]
async fn the_code_event_connects_a_phone_caller_id_does_not_know() {
    let mut c = testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        0,
        i64::MAX / 2,
    );
    c.participants[0].code = shared::values::AccessCode::typed("4821", 4);
    let codes = shared::config::AccessCodeConfig::from_source(&|name: &str| match name {
        "ACCESS_CODES" => Some("true".to_owned()),
        "ACCESS_CODE_DIGITS" => Some("4".to_owned()),
        _ => None,
    })
    .unwrap();
    let deps = deps(c, codes);
    // A caller ID that routes is connected at once, with one store request, as without codes.
    let (_, outcome) = answer(&deps, &load("answer-known.json"), shared::now()).await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(deps.store.requests(), 1);
    // The unknown caller is asked for the code, which comes back to /webhooks/code.
    let (ncco, outcome) = answer(&deps, &load("answer-unknown.json"), shared::now()).await;
    assert_eq!(outcome, Outcome::CodeAsked);
    let asked = ncco.to_json();
    let sealed = asked
        .split("/webhooks/code?s=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{asked}"));
    let seal = deps.auth.seal();
    assert_eq!(
        seal.open("CON-aaaaaaaa-0000-4000-8000-000000000002", sealed)
            .map(|c| c.attempt),
        Ok(Some(1)),
        "the first try, sealed for the call: {asked}"
    );
    let (ncco, outcome) = answer::code(&deps, &load("answer-code.json"), shared::now()).await;
    assert_eq!(outcome, Outcome::CodeConnected);
    let json = ncco.to_json();
    let routed = seal.url(
        "/webhooks/event",
        "CON-aaaaaaaa-0000-4000-8000-000000000007",
        &shared::seal::Carried {
            conversation_id: Some("c1".into()),
            caller: Some(0),
            routed: Some("code".into()),
            ..Default::default()
        },
    );
    assert!(json.contains(&routed), "{json}");
    assert!(json.contains(r#""from":"447700900102""#), "{json}");
    // The unknown caller's route lookup, then the code: spent, looked up, given back.
    assert_eq!(deps.store.requests(), 1 + 1 + 3);
}

#[tokio::test]
async fn a_code_typed_while_the_store_fails_is_answered_200_with_the_apology() {
    use shared::runtime::Handler;
    let c = testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        0,
        i64::MAX / 2,
    );
    let codes = shared::config::AccessCodeConfig::from_source(&|name: &str| match name {
        "ACCESS_CODES" => Some("true".to_owned()),
        "ACCESS_CODE_DIGITS" => Some("4".to_owned()),
        _ => None,
    })
    .unwrap();
    let deps = deps(c, codes);
    deps.store.fail(true);
    let (ncco, outcome) = answer::code(&deps, &load("answer-code.json"), shared::now()).await;
    assert_eq!(outcome, Outcome::StoreFailed);
    assert_eq!(ncco, shared::ncco::Ncco::say(&deps.call.unavailable));
    let response = deps.handle(load("answer-code.json")).await;
    assert_eq!(response.status(), 200);
}
