//! The SMS webhook on the in-memory store and Vonage: no server needed. The same paths against
//! the real local DynamoDB-API server and the SMS spec are in `relay.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::json;
use shared::config::SmsConfig;
use sms::{Deps, handle};
use testkit::conversation;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::{form, read};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-000000000003";

fn app(settings: &[(&str, &str)]) -> Deps<MemoryStore, FakeVonage> {
    let now = shared::now();
    let settings: std::collections::HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Deps {
        store: MemoryStore::with([conversation(ID, (A, PA), (B, PB), now, now + 3600)]),
        vonage: FakeVonage::default(),
        auth: None,
        jwt: shared::signature::WebhookAuth::Off,
        sms: SmsConfig::from_source(&move |k: &str| settings.get(k).cloned()).unwrap(),
        hooks: Default::default(),
    }
}

async fn text(
    deps: &Deps<MemoryStore, FakeVonage>,
    from: &str,
    to: &str,
    id: &str,
    words: &str,
) -> u16 {
    let req = form(
        "/webhooks/inbound-sms",
        &[
            ("msisdn", from),
            ("to", to),
            ("messageId", id),
            ("text", words),
            ("type", "text"),
        ],
    );
    read(handle(deps, req).await).0
}

#[tokio::test]
async fn a_text_reaches_the_other_participant_from_their_proxy_once() {
    let deps = app(&[]);
    assert_eq!(text(&deps, A, PA, "m-1", "on my way").await, 200);
    // Vonage delivers the same message again: acknowledged, not sent twice.
    assert_eq!(text(&deps, A, PA, "m-1", "on my way").await, 200);
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].from.as_str(), sent[0].to.as_str()), (PB, B));
    assert_eq!(sent[0].text, "on my way");
    assert_eq!(sent[0].client_ref.as_deref(), Some(ID));
    let kept = deps.store.messages_now();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].0.as_str(), kept[0].1.from_index), (ID, 0));
}

#[tokio::test]
async fn opting_out_stops_texts_to_that_participant() {
    let deps = app(&[]);
    assert_eq!(text(&deps, B, PB, "m-1", " stop ").await, 200);
    assert_eq!(deps.vonage.sent().len(), 1, "the opt-out is confirmed once");
    assert_eq!(text(&deps, A, PA, "m-2", "hello?").await, 200);
    assert_eq!(deps.vonage.sent().len(), 1, "nothing reaches who opted out");
    assert_eq!(
        deps.store.messages_now()[0].1.status,
        shared::values::MessageStatus::OptedOut
    );
    assert_eq!(text(&deps, B, PB, "m-3", "START").await, 200);
    assert_eq!(text(&deps, A, PA, "m-4", "hello again").await, 200);
    assert_eq!(deps.vonage.sent().last().unwrap().text, "hello again");
}

#[tokio::test]
async fn a_stranger_is_answered_at_most_once_an_hour_when_configured() {
    let deps = app(&[("SMS_UNKNOWN_REPLY", "true")]);
    for id in ["m-1", "m-2"] {
        assert_eq!(text(&deps, "447700900999", PA, id, "hi").await, 200);
    }
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].from.as_str(), sent[0].to.as_str()),
        (PA, "447700900999")
    );
}

#[tokio::test]
async fn failures_are_503s_that_vonage_retries_and_nothing_is_lost() {
    let deps = app(&[]);
    deps.vonage.fail("sms", true);
    let response = handle(
        &deps,
        form(
            "/webhooks/inbound-sms",
            &[
                ("msisdn", A),
                ("to", PA),
                ("messageId", "m-1"),
                ("text", "hi"),
                ("type", "text"),
            ],
        ),
    )
    .await;
    let (status, problem) = read(response);
    assert_eq!(
        (status, &problem["code"]),
        (503, &json!("vonage_unavailable"))
    );
    // Vonage's retry, once sending works again, is relayed: the claim was given back.
    deps.vonage.fail("sms", false);
    assert_eq!(text(&deps, A, PA, "m-1", "hi").await, 200);
    assert_eq!(deps.vonage.sent().len(), 1);

    deps.store.fail(true);
    assert_eq!(text(&deps, A, PA, "m-2", "hi").await, 503);
}

#[tokio::test]
async fn a_long_message_is_relayed_once_whole() {
    let deps = app(&[]);
    for (part, words) in [(2, "world"), (1, "hello ")] {
        let part = part.to_string();
        let req = form(
            "/webhooks/inbound-sms",
            &[
                ("msisdn", A),
                ("to", PA),
                ("messageId", &format!("m-{part}")),
                ("text", words),
                ("type", "text"),
                ("concat", "true"),
                ("concat-ref", "7"),
                ("concat-part", &part),
                ("concat-total", "2"),
            ],
        );
        assert_eq!(read(handle(&deps, req).await).0, 200);
    }
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "hello world");
}
