//! Signed webhooks: for the answer, fallback and event webhooks, a Vonage signature passes, and
//! a wrong secret, a body changed after signing, a stale token, a missing header or a malformed
//! token gets 401 before the table is touched; with `WEBHOOK_METHODS=post` a `GET` gets 405.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use lambda_http::{Body, Request};
use secrecy::SecretString;
use shared::config::{CallConfig, WebhookMethods};
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use testkit::fakes::MemoryStore;
use testkit::{all_items, fresh_store};

const SECRET: &str = "the-account-signature-secret";
const KEY: &str = "abcd1234";

fn auth() -> WebhookAuth {
    WebhookAuth::Required(Verifier::new(
        SecretString::from(SECRET),
        Some(KEY.into()),
        300,
    ))
}

/// The answer webhook with signatures required and `methods`, on a store that counts lookups.
fn answer_deps(methods: WebhookMethods) -> answer::Deps<MemoryStore> {
    answer::Deps {
        store: MemoryStore::default(),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: auth(),
        methods,
        hooks: answer::CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    }
}

fn post(path: &str, body: &str, authorization: Option<String>) -> Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(Body::Text(body.into())).unwrap()
}

/// (description, request) for every way a request can fail the check, and the good one last.
fn cases(path: &str, body: &str) -> Vec<(&'static str, Request, u16)> {
    let now = shared::now();
    let good = sign(&claims_for(body.as_bytes(), now, KEY), SECRET);
    let changed = body.replace("447700900001", "447700900003");
    vec![
        (
            "wrong secret",
            post(
                path,
                body,
                Some(format!(
                    "Bearer {}",
                    sign(&claims_for(body.as_bytes(), now, KEY), "not-the-secret")
                )),
            ),
            401,
        ),
        (
            "body changed after signing",
            post(path, &changed, Some(format!("Bearer {good}"))),
            401,
        ),
        (
            "older than the window",
            post(
                path,
                body,
                Some(format!(
                    "Bearer {}",
                    sign(&claims_for(body.as_bytes(), now - 301, KEY), SECRET)
                )),
            ),
            401,
        ),
        ("missing header", post(path, body, None), 401),
        (
            "malformed token",
            post(path, body, Some("Bearer abc.def".into())),
            401,
        ),
        (
            "not a bearer token",
            post(path, body, Some(format!("Basic {good}"))),
            401,
        ),
        (
            "valid signature",
            post(path, body, Some(format!("Bearer {good}"))),
            0,
        ),
    ]
}

#[tokio::test]
async fn answer_and_fallback_refuse_unsigned_calls_before_any_lookup() {
    let body =
        r#"{"to":"447700900101","from":"447700900001","uuid":"u1","conversation_uuid":"CON-1"}"#;
    for path in ["/webhooks/answer", "/webhooks/fallback"] {
        for (what, req, status) in cases(path, body) {
            let deps = answer_deps(WebhookMethods::Post);
            let response = answer::handle(&deps, req).await;
            // A refused request must make no lookup.
            let lookups = deps.store.requests();
            if status == 401 {
                assert_eq!(response.status(), 401, "{path}: {what}");
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json"
                );
                let Body::Text(text) = response.body() else {
                    panic!()
                };
                let problem: serde_json::Value = serde_json::from_str(text).unwrap();
                assert_eq!(problem["code"], "unauthorized", "{text}");
                // Which check failed is not told to whoever sent it.
                assert_eq!(problem["detail"], "unauthorized", "{path}: {what}: {text}");
                assert_eq!(lookups, 0, "{path}: {what} touched the store");
            } else {
                assert_eq!(response.status(), 200, "{path}: {what}");
                assert_eq!(lookups, 1, "{path}: {what}");
            }
        }
    }
}

#[tokio::test]
async fn the_event_webhook_refuses_unsigned_events_and_writes_nothing() {
    let store = fresh_store().await;
    let deps = event::Deps {
        store: store.clone(),
        auth: auth(),
        methods: WebhookMethods::Post,
        retention: shared::domain::Retention { seconds: 60 },
        missed: Default::default(),
        timers: None,
    };
    let body = r#"{"from":"447700900001","to":"447700900101","uuid":"u1","conversation_uuid":"CON-1","status":"started","direction":"inbound"}"#;
    for (what, req, status) in cases("/webhooks/event", body) {
        let response = event::handle(&deps, req).await;
        if status == 401 {
            assert_eq!(response.status(), 401, "{what}");
        } else {
            assert_eq!(
                response.status(),
                204,
                "{what}: an unknown call, acknowledged"
            );
        }
        assert!(all_items(&store).await.is_empty(), "{what} wrote something");
    }
}

/// With `WEBHOOK_METHODS=post`, as deployed, a `GET` is refused on every webhook before anything
/// is read, even with a valid token: its token signs an empty body, not the `to` and `from` of
/// its query string, so one token could otherwise ask for the NCCO of any pair.
#[tokio::test]
async fn strict_webhooks_refuse_get_even_when_signed() {
    let token = sign(&claims_for(b"", shared::now(), KEY), SECRET);
    let get = |path: &str| {
        http::Request::builder()
            .method("GET")
            .uri(format!("{path}?to=447700900101&from=447700900001&uuid=u1"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::Empty)
            .unwrap()
    };
    let refused = |response: lambda_http::Response<Body>, what: &str| {
        assert_eq!(response.status(), 405, "{what}");
        assert_eq!(response.headers()["allow"], "POST", "{what}");
        let Body::Text(text) = response.body() else {
            panic!("{what}")
        };
        assert!(text.contains("\"code\":\"method_not_allowed\""), "{text}");
    };
    for path in ["/webhooks/answer", "/webhooks/fallback"] {
        let deps = answer_deps(WebhookMethods::Post);
        refused(answer::handle(&deps, get(path)).await, path);
        assert_eq!(deps.store.requests(), 0, "{path}");
    }
    let store = fresh_store().await;
    let deps = event::Deps {
        store: store.clone(),
        auth: auth(),
        methods: WebhookMethods::Post,
        retention: shared::domain::Retention { seconds: 60 },
        missed: Default::default(),
        timers: None,
    };
    refused(event::handle(&deps, get("/webhooks/event")).await, "event");
    assert!(all_items(&store).await.is_empty());
    // The setting itself: post unless asked for any, and nothing else.
    let methods = |v: &str| {
        let v = v.to_owned();
        WebhookMethods::from_source(&move |k: &str| (k == "WEBHOOK_METHODS").then(|| v.clone()))
    };
    assert_eq!(
        WebhookMethods::from_source(&|_: &str| None).unwrap(),
        WebhookMethods::Post
    );
    assert_eq!(methods("any").unwrap(), WebhookMethods::Any);
    assert_eq!(methods("POST").unwrap(), WebhookMethods::Post);
    assert!(methods("get").is_err());
}

/// Locally (`WEBHOOK_METHODS=any`) a signed `GET` passes, as Vonage's default answer method.
#[tokio::test]
async fn a_signed_get_without_body_passes() {
    let deps = answer_deps(WebhookMethods::Any);
    let token = sign(&claims_for(b"", shared::now(), KEY), SECRET);
    let req = http::Request::builder()
        .method("GET")
        .uri("/webhooks/answer")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::Empty)
        .unwrap();
    assert_eq!(answer::handle(&deps, req).await.status(), 200);
}

#[tokio::test]
async fn signatures_are_required_unless_explicitly_off_and_local() {
    use shared::signature::webhook_auth;
    let none = |_: &str| None;
    let err = webhook_auth(&none).await.err().unwrap();
    assert!(err.to_string().contains("VONAGE_SIGNATURE_SECRET"), "{err}");
    let local_off = |k: &str| match k {
        "WEBHOOK_SIGNATURES" => Some("off".to_string()),
        "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://127.0.0.1:8000".to_string()),
        _ => None,
    };
    assert!(matches!(
        webhook_auth(&local_off).await.unwrap(),
        WebhookAuth::Off
    ));
    // Where the function is deployed (no local endpoint), "off" refuses every webhook.
    let deployed_off = |k: &str| (k == "WEBHOOK_SIGNATURES").then(|| "off".to_string());
    assert!(matches!(
        webhook_auth(&deployed_off).await.unwrap(),
        WebhookAuth::Closed
    ));
    let typo = |k: &str| (k == "WEBHOOK_SIGNATURES").then(|| "of".to_string());
    assert!(webhook_auth(&typo).await.is_err());
}
