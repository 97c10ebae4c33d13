//! The Messages API client, and the Vonage client sending every text through it: requests pass
//! a Prism proxy serving `messages-v1-sms.yml` (request and answer checked) on their way to a
//! stand-in; each is signed with the application's token, verified here with the public key.
//! With `MESSAGING_API=sms`, a linked number gets the stack's inbound-SMS URL and each SMS asks
//! for its delivery receipt at the stack.
#![cfg(feature = "services")] // needs Prism: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use serde_json::{Value, json};
use shared::config::MessagingApi;
use shared::phone::Msisdn;
use shared::vonage::{Api, VonageClient, VonageError};
use testkit::{
    SpecProxy, application_claims, application_key_pair, messages_client, vonage_config,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const UUID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

async fn stand_in(status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    let content_type = if status == 202 {
        "application/json"
    } else {
        "application/problem+json"
    };
    Mock::given(method("POST"))
        .and(path("/messages"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body.to_string(), content_type))
        .mount(&server)
        .await;
    server
}

fn problem(title: &str) -> Value {
    json!({"type": "https://developer.vonage.com/api-errors", "title": title,
           "detail": "Try again later", "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"})
}

#[tokio::test]
async fn a_text_is_sent_signed_by_the_application_in_a_request_the_spec_accepts() {
    let server = stand_in(202, json!({"message_uuid": UUID})).await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &server.uri());
    let (private, public) = application_key_pair();
    let client = messages_client(&prism.url, APP, &private);

    let id = client
        .send(
            &m("447700900101"),
            &m("447700900001"),
            "To reach your driver, call +447700900101.",
            Some("c-1"),
        )
        .await
        .unwrap();
    assert_eq!(id, UUID);
    // Any text, in any script: the API picks the encoding.
    client
        .send(&m("447700900101"), &m("447700900001"), "Café ✓ 你好", None)
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "both passed the spec");
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[0].body).unwrap(),
        json!({"message_type": "text", "channel": "sms", "from": "447700900101",
               "to": "447700900001", "text": "To reach your driver, call +447700900101.",
               "client_ref": "c-1"})
    );
    let (a, b) = (
        application_claims(&requests[0], &public),
        application_claims(&requests[1], &public),
    );
    assert_eq!(a["application_id"], APP);
    assert_ne!(a["jti"], b["jti"]);
}

#[tokio::test]
async fn throttling_is_retried_and_a_refusal_is_not() {
    let server = stand_in(429, problem("Too Many Requests")).await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &server.uri());
    let (private, _) = application_key_pair();
    let err = messages_client(&prism.url, APP, &private)
        .send(&m("447700900101"), &m("447700900001"), "hi", None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let server = stand_in(402, problem("Payment Required")).await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &server.uri());
    let err = messages_client(&prism.url, APP, &private)
        .send(&m("447700900101"), &m("447700900001"), "hi", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            VonageError::Status {
                api: Api::Messages,
                status: 402
            }
        ),
        "{err:?}"
    );
    assert!(
        !err.is_transient(),
        "an unpaid account fails the same way again"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_spec_mock_refuses_a_text_without_credentials_or_of_the_wrong_shape() {
    let server = stand_in(202, json!({"message_uuid": UUID})).await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &server.uri());
    let http = reqwest::Client::new();
    let body = json!({"message_type": "text", "channel": "sms", "from": "447700900101",
                      "to": "447700900001", "text": "hi"});
    let unsigned = http
        .post(format!("{}/messages", prism.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let flat = http
        .post(format!("{}/messages", prism.url))
        .bearer_auth("a.b.c")
        .json(&json!({"from": "447700900101", "to": "447700900001", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert!(flat.status().is_client_error(), "{}", flat.status());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_vonage_client_sends_every_text_through_the_messages_api_when_so_configured() {
    let server = stand_in(202, json!({"message_uuid": UUID})).await;
    let prism = SpecProxy::start("messages-v1-sms.yml", &server.uri());
    let (private, _) = application_key_pair();
    let mut config = vonage_config(
        "http://127.0.0.1:9/ni",
        "http://127.0.0.1:9/sms",
        "http://127.0.0.1:9",
    );
    config.messaging = MessagingApi::Messages;
    config.messages_url = prism.url.clone();
    let key = private.into();
    let client = VonageClient::new(&config)
        .unwrap()
        .with_application(&config, Some((APP, &key)))
        .unwrap();
    assert_eq!(
        client
            .send_sms(&m("447700900101"), &m("447700900001"), "hello", None)
            .await
            .unwrap(),
        UUID
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // Without the application's key (before the set-up has put it), texts still go out, by the
    // SMS API.
    let client = VonageClient::new(&config)
        .unwrap()
        .with_application(&config, None)
        .unwrap();
    assert!(
        client
            .send_sms(&m("447700900101"), &m("447700900001"), "hello", None)
            .await
            .is_err(),
        "the SMS API's base URL here answers nothing"
    );
}

#[tokio::test]
async fn with_the_sms_api_a_linked_number_sends_its_texts_to_the_stack_and_sms_ask_for_receipts() {
    let stand_in = testkit::vonage_mock().await;
    let base = "https://abc123.execute-api.eu-west-1.amazonaws.com";
    let numbers = SpecProxy::start("numbers.yml", &stand_in.uri());
    let mut config = vonage_config(
        &format!("{}/ni", stand_in.uri()),
        &format!("{}/sms", stand_in.uri()),
        &numbers.url,
    );
    config.public_base_url = Some(base.into());
    let client = VonageClient::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let gb = "GB".parse().unwrap();
    client
        .link_number(&m("447700900101"), &gb, APP)
        .await
        .unwrap();
    client
        .send_sms(&m("447700900101"), &m("447700900001"), "hello", None)
        .await
        .unwrap();
    let requests = stand_in.received_requests().await.unwrap();
    let form = |path: &str| -> std::collections::HashMap<String, String> {
        let r = requests.iter().find(|r| r.url.path() == path).unwrap();
        serde_urlencoded::from_bytes(&r.body).unwrap()
    };
    assert_eq!(
        form("/number/update")["moHttpUrl"],
        format!("{base}/webhooks/inbound-sms")
    );
    assert_eq!(
        form("/sms/json")["callback"],
        format!("{base}/webhooks/delivery-receipt")
    );
    let prism = std::env::var("PRISM_SMS_URL").expect("scripts/test starts the SMS mock");
    testkit::assert_spec_accepts(&stand_in, "/sms", &prism).await;

    // With the Messages API, a number's inbound texts go to the application instead.
    config.messaging = MessagingApi::Messages;
    let client = VonageClient::new(&config).unwrap();
    assert_eq!(client.inbound_sms_url(), None);
}
