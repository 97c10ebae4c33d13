//! Texts relayed between participants, against the real local DynamoDB-API server; every send
//! the stand-in records is replayed to Prism serving `sms.yml`, which must accept it.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::{Conversations, SmsLedger, TextLedger};
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Request, RequestExt};
use secrecy::SecretString;
use shared::config::SmsConfig;
use shared::model::{CloseReason, Mode};
use shared::sms_signature::{SmsSignatureMethod, SmsVerifier, sms_sign};
use shared::store::Store;
use shared::values::MessageStatus;
use shared::vonage::VonageClient;
use sms::{Deps, Outcome, handle, parse, relay};
use testkit::{
    add_pool, all_items, assert_spec_accepts, conversation, fresh_store, sent_sms, vonage_config,
    vonage_mock,
};
use wiremock::MockServer;

const A: &str = "447700900001";
const B: &str = "447700900002";
const C: &str = "447700900003";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const PC: &str = "447700900103";
const STRANGER: &str = "447700900999";

struct Stack {
    deps: Deps,
    vonage: MockServer,
}

async fn stack(settings: &[(&str, &str)]) -> Stack {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB, PC], "GB").await;
    stack_on(store, settings, None).await
}

async fn stack_on(store: Store, settings: &[(&str, &str)], auth: Option<SmsVerifier>) -> Stack {
    let vonage = vonage_mock().await;
    let sms_url = format!("{}/sms", vonage.uri());
    let config = vonage_config("http://127.0.0.1:9/ni", &sms_url, "http://127.0.0.1:9");
    let settings: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let deps = Deps {
        store,
        vonage: VonageClient::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(5)),
        auth,
        jwt: shared::signature::WebhookAuth::Off,
        sms: SmsConfig::from_source(&move |k: &str| settings.get(k).cloned()).unwrap(),
        hooks: Default::default(),
    };
    Stack { deps, vonage }
}

/// A conversation between `a` (on proxy `pa`) and `b` (on `pb`), open for an hour.
async fn talk(store: &Store, id: &str, a: (&str, &str), b: (&str, &str), mode: Mode) {
    let now = shared::now();
    let mut c = conversation(id, a, b, now, now + 3600);
    c.mode = mode;
    store.create_conversation(&c).await.unwrap();
}

fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An inbound message as Vonage sends it.
fn inbound(from: &str, to: &str, id: &str, text: &str) -> HashMap<String, String> {
    fields(&[
        ("api-key", "abcd1234"),
        ("msisdn", from),
        ("to", to),
        ("messageId", id),
        ("text", text),
        ("type", "text"),
        ("keyword", text.split_whitespace().next().unwrap_or("")),
        ("message-timestamp", "2026-11-24 19:00:00"),
        ("timestamp", &shared::now().to_string()),
        ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
    ])
}

async fn deliver(s: &Stack, f: HashMap<String, String>) -> Outcome {
    relay(&s.deps, &parse(&f).unwrap(), shared::now())
        .await
        .unwrap()
}

/// The texts sent so far, each one checked against `sms.yml` by the Prism mock (none sent is
/// nothing to check; the test asserts that itself).
async fn sent(s: &Stack) -> Vec<(String, String, String)> {
    let texts = sent_sms(&s.vonage).await;
    if !texts.is_empty() {
        let prism = std::env::var("PRISM_SMS_URL")
            .expect("PRISM_SMS_URL is not set: run the tests with scripts/test");
        assert_spec_accepts(&s.vonage, "/sms", &prism).await;
    }
    texts
}

/// Every item in the table, each written out with its attributes (and those of nested maps) in
/// order, sorted: equal when nothing was written.
async fn table(store: &Store) -> Vec<String> {
    fn canonical(v: &AttributeValue) -> String {
        match v {
            AttributeValue::M(m) => {
                let sorted: std::collections::BTreeMap<_, _> =
                    m.iter().map(|(k, v)| (k, canonical(v))).collect();
                format!("{sorted:?}")
            }
            AttributeValue::L(l) => format!("{:?}", l.iter().map(canonical).collect::<Vec<_>>()),
            other => format!("{other:?}"),
        }
    }
    let mut items: Vec<String> = all_items(store)
        .await
        .into_iter()
        .map(|item| canonical(&AttributeValue::M(item)))
        .collect();
    items.sort();
    items
}

fn get(query: HashMap<String, String>) -> Request {
    http::Request::builder()
        .method("GET")
        .uri("/webhooks/inbound-sms")
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(query)
}

#[tokio::test]
async fn texts_are_relayed_both_ways_without_showing_a_real_number() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    assert_eq!(
        deliver(&s, inbound(A, PA, "m1", "On my way")).await,
        Outcome::Relayed
    );
    assert_eq!(
        deliver(&s, inbound(B, PB, "m2", "See you")).await,
        Outcome::Relayed
    );
    assert_eq!(
        sent(&s).await,
        [
            (PB.into(), B.into(), "On my way".into()),
            (PA.into(), A.into(), "See you".into())
        ]
    );
    let log = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    assert_eq!(
        log.iter()
            .map(|m| (m.from_index, m.status, m.parts))
            .collect::<Vec<_>>(),
        [
            (0, MessageStatus::Submitted, 1),
            (1, MessageStatus::Submitted, 1)
        ]
    );
    assert!(log.iter().all(|m| m.outbound_id.is_some()));
}

#[tokio::test]
async fn a_participant_in_two_conversations_reaches_each_through_its_number() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    talk(&s.deps.store, "c2", (A, PC), (C, PA), Mode::VoiceAndSms).await;
    deliver(&s, inbound(A, PA, "m1", "to B")).await;
    deliver(&s, inbound(A, PC, "m2", "to C")).await;
    deliver(&s, inbound(C, PA, "m3", "from C")).await;
    assert_eq!(
        sent(&s).await,
        [
            (PB.into(), B.into(), "to B".into()),
            (PA.into(), C.into(), "to C".into()),
            (PC.into(), A.into(), "from C".into()),
        ]
    );
}

#[tokio::test]
async fn expired_closed_and_voice_only_conversations_relay_nothing() {
    let s = stack(&[]).await;
    let store = &s.deps.store;
    let now = shared::now();
    store
        .create_conversation(&conversation("old", (A, PA), (B, PB), now - 7200, now - 60))
        .await
        .unwrap();
    talk(store, "closed", (A, PB), (B, PA), Mode::VoiceAndSms).await;
    store
        .close_conversation(
            &"closed".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, now, now + 60),
        )
        .await
        .unwrap();
    talk(store, "voice", (A, PC), (B, PC), Mode::Voice).await;
    for (i, proxy) in [PA, PB, PC].iter().enumerate() {
        let outcome = deliver(&s, inbound(A, proxy, &format!("m{i}"), "hello?")).await;
        assert_eq!(outcome, Outcome::Unknown { replied: false }, "{proxy}");
    }
    assert!(
        sent(&s).await.is_empty(),
        "nothing relayed, nothing replied"
    );
}

#[tokio::test]
async fn a_retried_message_is_sent_once() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::Sms).await;
    assert_eq!(
        deliver(&s, inbound(A, PA, "m1", "once")).await,
        Outcome::Relayed
    );
    assert_eq!(
        deliver(&s, inbound(A, PA, "m1", "once")).await,
        Outcome::Duplicate
    );
    let mut binary = inbound(A, PA, "m2", "");
    binary.insert("type".into(), "binary".into());
    assert_eq!(deliver(&s, binary).await, Outcome::Binary);
    assert_eq!(sent(&s).await.len(), 1);
}

/// Vonage refuses the onward send once: the webhook answers 503 (so Vonage delivers the text
/// again), and the retry relays it, once.
#[tokio::test]
async fn a_failed_onward_send_is_relayed_once_when_vonage_retries() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::Sms).await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "message-count": "1",
            "messages": [{"status": "5", "error-text": "Internal Error"}],
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.vonage)
        .await;

    let text = inbound(A, PA, "m-retried", "running late");
    let first = handle(&s.deps, get(text.clone())).await;
    assert_eq!(first.status(), 503);
    let second = handle(&s.deps, get(text.clone())).await;
    assert_eq!(second.status(), 200);
    // A third delivery (Vonage did not see the 200) changes nothing.
    assert_eq!(handle(&s.deps, get(text)).await.status(), 200);

    // Two sends reached Vonage, the refused one and the one that went out; one was recorded.
    let sends = sent(&s).await;
    assert_eq!(sends.len(), 2);
    assert!(
        sends
            .iter()
            .all(|(from, to, text)| from == PB && to == B && text == "running late")
    );
    let relayed = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    assert_eq!(relayed.len(), 1, "{relayed:?}");
}

#[tokio::test]
async fn a_three_part_message_out_of_order_is_relayed_once_whole() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    let part = |id: &str, n: &str, text: &str| {
        let mut f = inbound(A, PA, id, text);
        f.extend(fields(&[
            ("concat", "true"),
            ("concat-ref", "77"),
            ("concat-total", "3"),
            ("concat-part", n),
        ]));
        f
    };
    assert_eq!(
        deliver(&s, part("p3", "3", "end.")).await,
        Outcome::PartKept
    );
    assert_eq!(
        deliver(&s, part("p1", "1", "The start, ")).await,
        Outcome::PartKept
    );
    // A part delivered twice changes nothing.
    assert_eq!(
        deliver(&s, part("p1", "1", "The start, ")).await,
        Outcome::Duplicate
    );
    assert_eq!(
        deliver(&s, part("p2", "2", "the middle, the ")).await,
        Outcome::Relayed
    );
    assert_eq!(
        sent(&s).await,
        [(
            PB.into(),
            B.into(),
            "The start, the middle, the end.".into()
        )]
    );
    assert_eq!(
        s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap()[0].parts,
        3
    );
}

#[tokio::test]
async fn stop_and_start() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    assert_eq!(
        deliver(&s, inbound(B, PB, "m1", " stop ")).await,
        Outcome::OptedOut { confirmed: true }
    );
    assert_eq!(
        deliver(&s, inbound(B, PB, "m2", "STOP")).await,
        Outcome::OptedOut { confirmed: false },
        "told once"
    );
    assert_eq!(
        deliver(&s, inbound(A, PA, "m3", "hello")).await,
        Outcome::RecipientOptedOut
    );
    assert_eq!(
        deliver(&s, inbound(B, PB, "m4", "Start")).await,
        Outcome::OptedIn { confirmed: true }
    );
    assert_eq!(
        deliver(&s, inbound(A, PA, "m5", "hello again")).await,
        Outcome::Relayed
    );
    let texts: Vec<(String, String, String)> = sent(&s).await;
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert_eq!((texts[0].0.as_str(), texts[0].1.as_str()), (PB, B));
    assert!(
        texts[0].2.contains("START"),
        "how to opt back in: {}",
        texts[0].2
    );
    assert_eq!((texts[1].0.as_str(), texts[1].1.as_str()), (PB, B));
    assert_eq!(texts[2], (PB.into(), B.into(), "hello again".into()));
    assert!(
        texts.iter().all(|t| t.2 != "hello"),
        "nothing relayed while opted out"
    );
    let log = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    assert_eq!(
        log.iter().map(|m| m.status).collect::<Vec<_>>(),
        [MessageStatus::OptedOut, MessageStatus::Submitted]
    );
}

#[tokio::test]
async fn an_unknown_sender_gets_nothing_or_one_reply_an_hour() {
    let s = stack(&[]).await;
    assert_eq!(
        deliver(&s, inbound(STRANGER, PA, "m1", "hi")).await,
        Outcome::Unknown { replied: false }
    );
    assert!(sent(&s).await.is_empty());

    let s = stack(&[("SMS_UNKNOWN_REPLY", "true")]).await;
    assert_eq!(
        deliver(&s, inbound(STRANGER, PA, "m1", "hi")).await,
        Outcome::Unknown { replied: true }
    );
    assert_eq!(
        deliver(&s, inbound(STRANGER, PA, "m2", "hello?")).await,
        Outcome::Unknown { replied: false }
    );
    assert_eq!(
        sent(&s).await,
        [(
            PA.into(),
            STRANGER.into(),
            "This number is not in service.".into()
        )]
    );
}

#[tokio::test]
async fn a_forged_sig_is_refused_and_a_signed_text_relayed() {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    talk(&store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    let secret = SecretString::from("0123456789abcdef0123456789abcdef");
    let method = SmsSignatureMethod::HmacSha256;
    let s = stack_on(
        store,
        &[],
        Some(SmsVerifier::new(secret.clone(), method, 300)),
    )
    .await;

    let mut signed = inbound(A, PA, "m1", "signed");
    let sig = sms_sign(&signed, &secret, method);
    signed.insert("sig".into(), sig);
    let mut forged = signed.clone();
    forged.insert("text".into(), "changed".into());
    forged.insert("messageId".into(), "m2".into());
    let mut unsigned = inbound(A, PA, "m3", "unsigned");
    unsigned.remove("sig");

    for f in [forged, unsigned] {
        let r = handle(&s.deps, get(f)).await;
        assert_eq!(r.status(), 401);
    }
    assert!(sent(&s).await.is_empty());
    assert_eq!(handle(&s.deps, get(signed)).await.status(), 200);
    assert_eq!(sent(&s).await, [(PB.into(), B.into(), "signed".into())]);
}

#[tokio::test]
async fn get_query_form_and_json_are_all_read() {
    let s = stack(&[]).await;
    talk(&s.deps.store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    // Vonage's check of the URL: a bare GET.
    assert_eq!(handle(&s.deps, get(HashMap::new())).await.status(), 200);
    assert_eq!(
        handle(&s.deps, get(inbound(A, PA, "q", "by query")))
            .await
            .status(),
        200
    );
    let form = serde_urlencoded::to_string(inbound(A, PA, "f", "by form")).unwrap();
    let json = serde_json::to_string(&inbound(A, PA, "j", "by json")).unwrap();
    for (ct, body) in [
        ("application/x-www-form-urlencoded", form),
        ("application/json", json),
    ] {
        let req = http::Request::builder()
            .method("POST")
            .uri("/webhooks/inbound-sms")
            .header("content-type", ct)
            .body(Body::Text(body))
            .unwrap();
        assert_eq!(handle(&s.deps, req).await.status(), 200, "{ct}");
    }
    assert_eq!(sent(&s).await.len(), 3);
    // Something that is not an inbound message at all: refused, and nothing is written.
    let before = table(&s.deps.store).await;
    let bad = get(fields(&[("msisdn", "me"), ("to", PA), ("messageId", "x")]));
    assert_eq!(handle(&s.deps, bad).await.status(), 400);
    assert_eq!(table(&s.deps.store).await, before);
}

#[tokio::test]
async fn a_text_to_a_landline_is_not_relayed_and_says_why() {
    let s = stack(&[]).await;
    let now = shared::now();
    let mut c = conversation("c1", (A, PA), (B, PB), now, now + 3600);
    c.mode = Mode::VoiceAndSms;
    c.participants[1].facts.line = Some(shared::model::LineType::Landline);
    s.deps.store.create_conversation(&c).await.unwrap();
    assert_eq!(
        deliver(&s, inbound(A, PA, "m1", "I'm outside")).await,
        Outcome::RecipientTakesNoTexts
    );
    assert!(sent(&s).await.is_empty(), "nothing sent to a landline");
    let messages = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap();
    assert_eq!(messages[0].status, MessageStatus::NotSmsCapable);
    // The landline's own texts (from a phone that can send them) still reach the mobile.
    assert_eq!(
        deliver(&s, inbound(B, PB, "m2", "Coming down")).await,
        Outcome::Relayed
    );
}

#[tokio::test]
async fn a_signed_delivery_receipt_records_a_relayed_texts_delivery_and_a_forged_one_does_not() {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    talk(&store, "c1", (A, PA), (B, PB), Mode::VoiceAndSms).await;
    let secret = SecretString::from("0123456789abcdef0123456789abcdef");
    let method = SmsSignatureMethod::HmacSha256;
    let s = stack_on(
        store,
        &[],
        Some(SmsVerifier::new(secret.clone(), method, 300)),
    )
    .await;
    let mut text = inbound(A, PA, "m1", "on my way");
    let sig = sms_sign(&text, &secret, method);
    text.insert("sig".into(), sig);
    assert_eq!(handle(&s.deps, get(text)).await.status(), 200);
    let id = s.deps.store.messages(&"c1".parse().unwrap()).await.unwrap()[0]
        .outbound_id
        .clone()
        .unwrap();

    // A receipt as the SMS API sends one (`DeliveryReceipt` in sms.yml).
    let receipt = |status: &str| {
        fields(&[
            ("msisdn", B),
            ("to", PB),
            ("network-code", "23415"),
            ("messageId", &id),
            ("price", "0.03330000"),
            ("status", status),
            ("scts", "2612051000"),
            ("err-code", if status == "delivered" { "0" } else { "6" }),
            ("api-key", "abcd1234"),
            ("client-ref", "c1"),
            ("message-timestamp", "2026-12-05 10:00:05"),
            ("timestamp", &shared::now().to_string()),
            ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
        ])
    };
    let receipt_request = |f: HashMap<String, String>| {
        let mut req = get(f);
        *req.uri_mut() = "/webhooks/delivery-receipt".parse().unwrap();
        req
    };
    let mut forged = receipt("failed");
    forged.insert("sig".into(), "0".repeat(64));
    assert_eq!(handle(&s.deps, receipt_request(forged)).await.status(), 401);
    let texts = s.deps.store.texts(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(texts[&id].state, shared::model::DeliveryState::Submitted);

    let mut delivered = receipt("delivered");
    let sig = sms_sign(&delivered, &secret, method);
    delivered.insert("sig".into(), sig);
    assert_eq!(
        handle(&s.deps, receipt_request(delivered.clone()))
            .await
            .status(),
        204
    );
    // The same receipt again changes nothing.
    assert_eq!(
        handle(&s.deps, receipt_request(delivered)).await.status(),
        204
    );
    let texts = s.deps.store.texts(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(texts[&id].state, shared::model::DeliveryState::Delivered);
    assert_eq!(
        texts[&id].owner.as_ref().unwrap().conversation_id.as_str(),
        "c1"
    );
}
