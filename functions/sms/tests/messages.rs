//! Texts in the Messages API's format: `POST /webhooks/inbound-message`, a JSON body (checked
//! here against the spec's `inboundMessageSMS`) signed with a JWT as Voice webhooks are. Relayed
//! both ways through the same relay as the SMS API's webhook, against the real local
//! DynamoDB-API server, every onward text sent through the Messages API behind a Prism proxy
//! serving `messages-v1-sms.yml`. Forged and unsigned ones are refused before the table is read.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use lambda_http::{Body, Request};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::SmsConfig;
use shared::ports::{Conversations, SmsLedger, TextLedger};
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use shared::store::Store;
use shared::vonage::{Messaging, VonageClient};
use sms::{Deps, handle};
use testkit::{
    SpecProxy, add_pool, all_items, application_key_pair, conversation, fresh_store,
    messages_client, vonage_config, vonage_schema,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const SECRET: &str = "the-account-signature-secret";
const KEY: &str = "abcd1234";

struct Stack {
    deps: Deps,
    messages: MockServer,
    _prism: SpecProxy,
}

/// The SMS function on a fresh table holding a conversation of A and B, sending through the
/// Messages API, and taking only Messages webhooks signed with the account's secret.
async fn stack() -> Stack {
    let store: Store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    let mut c = conversation("c1", (A, PA), (B, PB), now, now + 3600);
    c.mode = shared::model::Mode::VoiceAndSms;
    store.create_conversation(&c).await.unwrap();

    let messages = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"})),
        )
        .mount(&messages)
        .await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &messages.uri());
    let (private, _) = application_key_pair();
    let config = vonage_config(
        "http://127.0.0.1:9/ni",
        "http://127.0.0.1:9/sms",
        "http://127.0.0.1:9",
    );
    let vonage = VonageClient::new(&config)
        .unwrap()
        .with_messaging(Messaging::Messages(messages_client(
            &prism.url,
            "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
            &private,
        )));
    let deps = Deps {
        store,
        vonage,
        auth: None,
        jwt: WebhookAuth::Required(Verifier::new(
            SecretString::from(SECRET),
            Some(KEY.into()),
            300,
        )),
        sms: SmsConfig::from_source(&|_: &str| None).unwrap(),
        hooks: Default::default(),
    };
    Stack {
        deps,
        messages,
        _prism: prism,
    }
}

/// An inbound text as the Messages API sends it.
fn inbound(from: &str, to: &str, text: &str) -> Value {
    json!({
        "channel": "sms",
        "message_uuid": uuid::Uuid::new_v4().to_string(),
        "to": to,
        "from": from,
        "timestamp": "2026-12-05T10:00:00Z",
        "text": text,
        "sms": {"num_messages": "1", "keyword": text.split_whitespace().next().unwrap_or("").to_uppercase()},
        "usage": {"currency": "EUR", "price": "0.0057"},
        "origin": {"network_code": "23415"}
    })
}

fn post(body: &str, authorization: Option<String>) -> Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri("/webhooks/inbound-message")
        .header("content-type", "application/json");
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    b.body(Body::Text(body.into())).unwrap()
}

fn signed(body: &Value) -> Request {
    let body = body.to_string();
    let token = sign(&claims_for(body.as_bytes(), shared::now(), KEY), SECRET);
    post(&body, Some(format!("Bearer {token}")))
}

/// The texts the Messages API was asked to send, as (from, to, text).
async fn sent(s: &Stack) -> Vec<(String, String, String)> {
    s.messages
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            let f = |k: &str| b[k].as_str().unwrap().to_owned();
            (f("from"), f("to"), f("text"))
        })
        .collect()
}

#[tokio::test]
async fn a_messages_api_text_is_relayed_both_ways_through_the_messages_api() {
    let s = stack().await;
    let schema = vonage_schema("messages-v1-sms.yml", "inboundMessageSMS");
    let from_a = inbound(A, PA, "I'm outside the station");
    assert!(
        schema.is_valid(&from_a),
        "the test's body is one Vonage sends"
    );
    assert_eq!(handle(&s.deps, signed(&from_a)).await.status(), 200);
    let from_b = inbound(B, PB, "Coming down now");
    assert!(schema.is_valid(&from_b));
    assert_eq!(handle(&s.deps, signed(&from_b)).await.status(), 200);
    // Each reaches the other from the number they use to reach the sender; no real number shows.
    assert_eq!(
        sent(&s).await,
        [
            (PB.into(), B.into(), "I'm outside the station".into()),
            (PA.into(), A.into(), "Coming down now".into()),
        ]
    );
    // Vonage delivering the same message again sends nothing again.
    assert_eq!(handle(&s.deps, signed(&from_a)).await.status(), 200);
    assert_eq!(sent(&s).await.len(), 2);
    let messages = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
async fn stop_works_on_the_messages_path() {
    let s = stack().await;
    assert_eq!(
        handle(&s.deps, signed(&inbound(B, PB, "STOP")))
            .await
            .status(),
        200
    );
    assert_eq!(
        handle(&s.deps, signed(&inbound(A, PA, "hello?")))
            .await
            .status(),
        200
    );
    let texts = sent(&s).await;
    // B is told once how to opt back in, and A's text does not reach B.
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!((texts[0].0.as_str(), texts[0].1.as_str()), (PB, B));
    assert!(texts[0].2.contains("START"), "{}", texts[0].2);
}

#[tokio::test]
async fn forged_unsigned_and_stale_messages_are_refused_before_the_table_is_read() {
    let s = stack().await;
    let before = all_items(&s.deps.store).await.len();
    let body = inbound(A, PA, "let me in").to_string();
    let now = shared::now();
    let forged = sign(&claims_for(body.as_bytes(), now, KEY), "not-the-secret");
    let stale = sign(&claims_for(body.as_bytes(), now - 301, KEY), SECRET);
    let other_body = sign(&claims_for(b"{}", now, KEY), SECRET);
    let empty_body = sign(&claims_for(b"", now, KEY), SECRET);
    for (what, req) in [
        ("unsigned", post(&body, None)),
        ("forged", post(&body, Some(format!("Bearer {forged}")))),
        ("stale", post(&body, Some(format!("Bearer {stale}")))),
        (
            "signed over another body",
            post(&body, Some(format!("Bearer {other_body}"))),
        ),
    ] {
        let response = handle(&s.deps, req).await;
        assert_eq!(response.status(), 401, "{what}");
    }
    // A signed empty body carries nothing to relay.
    let response = handle(&s.deps, post("", Some(format!("Bearer {empty_body}")))).await;
    assert_eq!(response.status(), 400);
    // A GET is not how the Messages API calls.
    let get = http::Request::builder()
        .method("GET")
        .uri("/webhooks/inbound-message")
        .body(Body::Empty)
        .unwrap();
    assert_eq!(handle(&s.deps, get).await.status(), 405);
    assert!(sent(&s).await.is_empty());
    assert_eq!(
        all_items(&s.deps.store).await.len(),
        before,
        "nothing written"
    );
}

#[tokio::test]
async fn malformed_messages_get_a_problem_and_other_channels_are_acknowledged() {
    let s = stack().await;
    let mut bad = inbound(A, PA, "hi");
    bad["from"] = json!("Unknown");
    let response = handle(&s.deps, signed(&bad)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let mut whatsapp = inbound(A, PA, "hi");
    whatsapp["channel"] = json!("whatsapp");
    assert_eq!(handle(&s.deps, signed(&whatsapp)).await.status(), 200);
    assert!(sent(&s).await.is_empty());
}

/// Signs a status body as the Messages API does.
fn status(uuid: &str, status: &str) -> Value {
    let mut body = json!({
        "message_uuid": uuid,
        "to": B,
        "from": PB,
        "timestamp": "2026-12-05T10:00:05Z",
        "status": status,
        "channel": "sms",
        "client_ref": "c1",
    });
    if status == "rejected" {
        body["error"] = json!({"type": "https://developer.vonage.com/api-errors/messages#1250",
                               "title": "1250", "detail": "Unroutable"});
    }
    body
}

fn status_request(body: &Value) -> Request {
    let mut req = signed(body);
    *req.uri_mut() = "/webhooks/message-status".parse().unwrap();
    req
}

#[tokio::test]
async fn a_relayed_texts_delivery_is_recorded_from_its_statuses_in_any_order() {
    let s = stack().await;
    let schema = vonage_schema("messages-v1-sms.yml", "messageStatusSMS");
    assert_eq!(
        handle(&s.deps, signed(&inbound(A, PA, "Here now")))
            .await
            .status(),
        200
    );
    let messages = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    let sent = messages[0]
        .outbound_id
        .clone()
        .expect("the onward text's id");
    // Vonage does not order statuses: delivered before submitted, and delivered twice.
    for state in ["delivered", "submitted", "delivered"] {
        let body = status(&sent, state);
        assert!(schema.is_valid(&body), "a body Vonage sends");
        assert_eq!(
            handle(&s.deps, status_request(&body)).await.status(),
            204,
            "{state}"
        );
    }
    let texts = s
        .deps
        .store
        .texts(std::slice::from_ref(&sent))
        .await
        .unwrap();
    assert_eq!(texts[&sent].state, shared::model::DeliveryState::Delivered);
    // A status for a text this stack never sent is acknowledged and kept apart.
    let stranger = status("bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab", "rejected");
    assert_eq!(
        handle(&s.deps, status_request(&stranger)).await.status(),
        204
    );
    let texts = s
        .deps
        .store
        .texts(&["bbbbbbbb-bbbb-4ccc-8ddd-0123456789ab".into()])
        .await
        .unwrap();
    let kept = texts.values().next().unwrap();
    assert_eq!(
        (kept.owner.as_ref(), kept.reason.as_deref()),
        (None, Some("rejected"))
    );
    assert_eq!(kept.error_code.as_deref(), Some("1250"));
}

#[tokio::test]
async fn a_forged_status_is_refused_and_changes_nothing() {
    let s = stack().await;
    let before = all_items(&s.deps.store).await.len();
    let body = status("aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "delivered").to_string();
    let forged = sign(
        &claims_for(body.as_bytes(), shared::now(), KEY),
        "not-the-secret",
    );
    let mut req = post(&body, Some(format!("Bearer {forged}")));
    *req.uri_mut() = "/webhooks/message-status".parse().unwrap();
    assert_eq!(handle(&s.deps, req).await.status(), 401);
    let mut unsigned = post(&body, None);
    *unsigned.uri_mut() = "/webhooks/message-status".parse().unwrap();
    assert_eq!(handle(&s.deps, unsigned).await.status(), 401);
    // Signed, but not a status: a problem, and nothing recorded.
    for bad in [json!("delivered"), json!({"status": "delivered"})] {
        let response = handle(&s.deps, status_request(&bad)).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert_eq!(all_items(&s.deps.store).await.len(), before);
}
