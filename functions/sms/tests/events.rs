//! The text webhooks' events in `events/` (SMS API and Messages API texts, and the statuses of
//! texts sent), played against the real local store.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::config::SmsConfig;
use shared::model::Mode;
use shared::ports::{Conversations, TextLedger};
use shared::vonage::VonageClient;
use sms::{Deps, handle};
use testkit::{add_pool, conversation, fresh_store, mock_config, sent_sms, vonage_mock};

fn load(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_sms_events_play_as_named() {
    let vonage = vonage_mock().await;
    let store = fresh_store().await;
    add_pool(&store, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let mut c = conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        now,
        now + 3600,
    );
    c.mode = Mode::VoiceAndSms;
    store.create_conversation(&c).await.unwrap();
    let deps = Deps {
        store,
        vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
        auth: None,
        jwt: shared::signature::WebhookAuth::Off,
        sms: SmsConfig::from_source(&|_: &str| None).unwrap(),
        hooks: Default::default(),
    };
    for name in [
        "sms-url-check.json",
        "sms-inbound-known.json",
        "sms-inbound-unknown.json",
        "sms-inbound-stop.json",
    ] {
        assert_eq!(handle(&deps, load(name)).await.status(), 200, "{name}");
    }
    let sent = sent_sms(&vonage).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    // The known sender's text reaches the other participant from their proxy number.
    assert_eq!(
        sent[0],
        (
            "447700900102".into(),
            "447700900002".into(),
            "On my way, 5 minutes".into()
        )
    );
    // STOP is answered once, to the sender, from the number they wrote to.
    assert_eq!(
        (sent[1].0.as_str(), sent[1].1.as_str()),
        ("447700900101", "447700900001")
    );

    // A Messages API text takes the same relay; its onward text's receipt is recorded, and a
    // status of a text no one here sent is acknowledged.
    assert_eq!(
        handle(&deps, load("sms-inbound-message.json"))
            .await
            .status(),
        200
    );
    let sent = sent_sms(&vonage).await;
    assert_eq!(
        sent[2],
        (
            "447700900102".into(),
            "447700900002".into(),
            "See you at the corner".into()
        )
    );
    for name in ["sms-delivery-receipt.json", "sms-message-status.json"] {
        assert_eq!(handle(&deps, load(name)).await.status(), 204, "{name}");
    }
    let texts = deps
        .store
        .texts(&["0A0000000123ABCD1".into()])
        .await
        .unwrap();
    assert_eq!(
        texts["0A0000000123ABCD1"].state,
        shared::model::DeliveryState::Delivered
    );
}
