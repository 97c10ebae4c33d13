//! The Voice API client: its requests to calls in progress checked against `voice.yml` by a
//! Prism proxy in front of a stand-in, each signed with the application's token (RS256, the
//! application's id, a fresh `jti`), which the stand-in verifies with the public key; and the
//! recording download, which sends that token only to Vonage's file store.
#![cfg(feature = "services")] // needs Prism: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::json;
use shared::ncco::Ncco;
use testkit::{SpecProxy, application_claims as claims, application_key_pair, voice_client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";

#[tokio::test]
async fn hang_up_and_transfer_are_accepted_by_the_spec_and_signed_by_the_application() {
    let (private, public) = application_key_pair();
    let stand_in = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&stand_in)
        .await;
    let prism = SpecProxy::start("voice.yml", &stand_in.uri());
    let voice = voice_client(&prism.url, &stand_in.uri(), APP, &private);

    voice
        .hang_up("63f61863-4a51-4f6b-86e1-46edebcf9356")
        .await
        .unwrap();
    let told = Ncco::speak("Sorry, your driver cannot take your call right now.", None);
    voice
        .transfer("aaaaaaaa-0000-4000-8000-000000000001", &told)
        .await
        .unwrap();

    let requests = stand_in.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "both passed the spec");
    assert_eq!(
        requests[0].url.path(),
        "/63f61863-4a51-4f6b-86e1-46edebcf9356"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[0].body).unwrap(),
        json!({"action": "hangup"})
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[1].body).unwrap(),
        json!({"action": "transfer", "destination": {"type": "ncco", "ncco":
            [{"action": "talk", "text": "Sorry, your driver cannot take your call right now."}]}})
    );
    let (a, b) = (claims(&requests[0], &public), claims(&requests[1], &public));
    assert_eq!(a["application_id"], APP);
    assert!(a["iat"].as_i64().unwrap() <= a["exp"].as_i64().unwrap() - 30);
    assert_ne!(a["jti"], b["jti"], "a fresh jti per request");

    // A leg id that is not one is refused before anything is sent.
    assert!(voice.hang_up("../numbers").await.is_err());
    assert_eq!(stand_in.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_recording_is_fetched_with_the_token_from_the_file_store_only() {
    let (private, public) = application_key_pair();
    let store = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/files/rec-1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"ID3 recording".to_vec()))
        .mount(&store)
        .await;
    let files = format!("{}/v1/files", store.uri());
    let voice = voice_client("http://127.0.0.1:9", &files, APP, &private);
    let download = voice.download(&format!("{files}/rec-1")).await.unwrap();
    assert_eq!(download.size, 13, "declared before the bytes");
    assert_eq!(download.collect().await.unwrap(), b"ID3 recording");
    let requests = store.received_requests().await.unwrap();
    assert_eq!(claims(&requests[0], &public)["application_id"], APP);

    for elsewhere in [
        "http://127.0.0.1:9/v1/files/rec-1",
        "https://attacker.example/v1/files/rec-1",
        "http://api.nexmo.com/v1/files/rec-1",
        "https://api.nexmo.com/v1/calls/rec-1",
    ] {
        assert!(voice.download(elsewhere).await.is_err(), "{elsewhere}");
    }
    assert_eq!(store.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_recording_past_the_size_cap_is_not_kept() {
    let (private, _) = application_key_pair();
    let store = MockServer::start().await;
    // The client's cap is 1 MiB: one byte more is refused, declared or not.
    let large = vec![0u8; 1024 * 1024 + 1];
    Mock::given(method("GET"))
        .and(path("/v1/files/large"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(large))
        .mount(&store)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/files/at-the-cap"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 1024 * 1024]))
        .mount(&store)
        .await;
    let files = format!("{}/v1/files", store.uri());
    let voice = voice_client("http://127.0.0.1:9", &files, APP, &private);
    let refused = voice.download(&format!("{files}/large")).await.unwrap_err();
    assert!(
        !refused.is_transient(),
        "fetching it again would fail the same way"
    );
    assert!(
        refused.to_string().contains("RECORDING_MAX_BYTES"),
        "{refused}"
    );
    let kept = voice
        .download(&format!("{files}/at-the-cap"))
        .await
        .unwrap();
    assert_eq!(kept.size, 1024 * 1024);
    assert_eq!(kept.collect().await.unwrap().len(), 1024 * 1024);
}

#[tokio::test]
async fn a_call_is_created_as_the_spec_says_and_signed_by_the_application() {
    use shared::phone::Msisdn;
    use shared::vonage::NewCall;
    let (private, public) = application_key_pair();
    let stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356", "status": "started",
            "direction": "outbound", "conversation_uuid": "f972836a-550f-45fa-956c-12a2ab5b7d22",
        })))
        .mount(&stand_in)
        .await;
    // voice.yml with its call endpoints told apart (testkit::voice_spec_for_calls says why).
    let prism = SpecProxy::start_file(&testkit::voice_spec_for_calls(), &stand_in.uri());
    let voice = voice_client(&prism.url, &stand_in.uri(), APP, &private);
    let (to, from) = (
        Msisdn::from_digits("447700900001").unwrap(),
        Msisdn::from_digits("447700900101").unwrap(),
    );
    let ncco = Ncco::speak("Connecting your call.", None);
    let started = voice
        .create_call(&NewCall {
            to: &to,
            from: &from,
            ncco: &ncco,
            event_url: "https://proxy.example.com/webhooks/event?s=abc.def",
            ringing_timer: 500,
        })
        .await
        .unwrap();
    assert_eq!(
        started.conversation_uuid,
        "f972836a-550f-45fa-956c-12a2ab5b7d22"
    );
    let requests = stand_in.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "it passed the spec, once");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[0].body).unwrap(),
        json!({
            "to": [{"type": "phone", "number": "447700900001"}],
            "from": {"type": "phone", "number": "447700900101"},
            "ncco": [{"action": "talk", "text": "Connecting your call."}],
            "event_url": ["https://proxy.example.com/webhooks/event?s=abc.def"],
            "event_method": "POST",
            "ringing_timer": 120,
            "machine_detection": "hangup",
        })
    );
    assert_eq!(claims(&requests[0], &public)["application_id"], APP);

    // A refusal is not retried (a second try could ring twice); nor is a failure.
    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&refusing)
        .await;
    let voice = voice_client(&refusing.uri(), &refusing.uri(), APP, &private);
    let failed = voice
        .create_call(&NewCall {
            to: &to,
            from: &from,
            ncco: &ncco,
            event_url: "https://proxy.example.com/webhooks/event",
            ringing_timer: 45,
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(refusing.received_requests().await.unwrap().len(), 1);
}
