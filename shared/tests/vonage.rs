//! The Vonage client: its requests checked against the published specs (Prism serving each
//! spec answers 422 to a request the spec forbids, 401 to missing credentials), and its handling
//! of failures against wiremock.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use shared::phone::Msisdn;
use shared::problem::error_chain;
use shared::vonage::{Insight, VonageClient, VonageError};
use testkit::{mock_config, vonage_config, vonage_mock};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn gb() -> shared::values::Country {
    "GB".parse().unwrap()
}

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn prism(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests with scripts/test, which starts Prism on each Vonage spec")
    })
}

fn prism_client() -> VonageClient {
    let config = vonage_config(
        &prism("PRISM_NUMBER_INSIGHT_URL"),
        &prism("PRISM_SMS_URL"),
        &prism("PRISM_NUMBERS_URL"),
    );
    VonageClient::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(5))
}

#[tokio::test]
async fn number_insight_request_is_accepted_by_the_spec() {
    let insight = prism_client()
        .basic_insight(&m("447700900001"))
        .await
        .unwrap();
    // Prism answers with the spec's example, whatever number is asked about.
    assert_eq!(
        insight,
        Insight::Valid {
            international: m("447700900000"),
            country: "GB".parse().unwrap(),
            facts: Default::default(),
        }
    );
}

#[tokio::test]
async fn sms_request_is_accepted_by_the_spec() {
    let id = prism_client()
        .send_sms(
            &m("447700900101"),
            &m("447700900001"),
            "To reach your driver, call +447700900101.",
            Some("c-1"),
        )
        .await
        .unwrap();
    assert!(!id.is_empty());
    // Non-GSM text goes as unicode, which the spec allows too.
    prism_client()
        .send_sms(&m("447700900101"), &m("447700900001"), "Café ✓", None)
        .await
        .unwrap();
}

#[tokio::test]
async fn number_update_request_is_accepted_by_the_spec() {
    prism_client()
        .link_number(
            &m("447700900101"),
            &gb(),
            "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_spec_mock_refuses_what_the_spec_forbids() {
    // The contract check has teeth: a request without credentials is refused by the mock.
    let url = format!(
        "{}/basic/json?number=447700900001",
        prism("PRISM_NUMBER_INSIGHT_URL")
    );
    let status = reqwest::get(url).await.unwrap().status();
    assert_eq!(status, 401);
    let url = format!("{}/number/update", prism("PRISM_NUMBERS_URL"));
    let form = [
        ("country", "GB"),
        ("msisdn", "447700900101"),
        ("api_key", "abcd1234"),
        ("api_secret", "abcdef0123"),
    ];
    let status = reqwest::Client::new()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 401,
        "Numbers credentials belong in the query, not the form"
    );
}

#[tokio::test]
async fn a_5xx_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ni/basic/json"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    let server = {
        Mock::given(method("GET"))
            .and(path("/ni/basic/json"))
            .and(query_param("api_key", "abcd1234"))
            .and(query_param("number", "447700900001"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": 0, "international_format_number": "447700900001", "country_code": "GB"
            })))
            .mount(&server)
            .await;
        server
    };
    let client = VonageClient::new(&mock_config(&server))
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let insight = client.basic_insight(&m("447700900001")).await.unwrap();
    assert!(matches!(insight, Insight::Valid { .. }));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_lasting_5xx_is_a_typed_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = VonageClient::new(&mock_config(&server))
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let err = client.basic_insight(&m("447700900001")).await.unwrap_err();
    assert!(
        matches!(err, VonageError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "one try and two retries"
    );
    let text = format!("{} {:?}", error_chain(&err), err);
    assert!(!text.contains("abcdef0123456789"), "{text}");
}

#[tokio::test]
async fn a_timeout_is_reported_as_such_without_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut config = mock_config(&server);
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = VonageClient::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let err = client.basic_insight(&m("447700900001")).await.unwrap_err();
    assert!(matches!(err, VonageError::Timeout { .. }), "{err:?}");
    let text = format!("{} {:?}", error_chain(&err), err);
    assert!(!text.contains("api_secret"), "{text}");
}

#[tokio::test]
async fn an_sms_is_not_resent_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut config = mock_config(&server);
    config.timeout = Duration::from_millis(200);
    let client = VonageClient::new(&config).unwrap();
    let err = client
        .send_sms(&m("447700900101"), &m("447700900001"), "hi", None)
        .await
        .unwrap_err();
    assert!(matches!(err, VonageError::Timeout { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn number_insight_statuses_other_than_zero() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("number", "447700900003"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status": 3, "status_message": "Invalid request"}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("number", "447700900005"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status": 5, "status_message": "Internal Error"}),
            ),
        )
        .mount(&server)
        .await;
    let client = VonageClient::new(&mock_config(&server)).unwrap();
    assert_eq!(
        client.basic_insight(&m("447700900003")).await.unwrap(),
        Insight::NotValid {
            status: "3".into(),
            message: "Invalid request".into()
        }
    );
    let err = client.basic_insight(&m("447700900005")).await.unwrap_err();
    assert!(
        matches!(err, VonageError::Rejected { ref code, .. } if code == "5"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_sms_and_a_refused_update_are_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "message-count": "1", "messages": [{"status": "9", "error-text": "Partner quota exceeded"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/update"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"error-code": "420", "error-code-label": "Numbers from this country cannot be linked"}),
        ))
        .mount(&server)
        .await;
    let client = VonageClient::new(&mock_config(&server)).unwrap();
    let err = client
        .send_sms(&m("447700900101"), &m("447700900001"), "hi", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VonageError::Rejected { ref code, .. } if code == "9"),
        "{err:?}"
    );
    let err = client
        .link_number(&m("447700900101"), &gb(), "app")
        .await
        .unwrap_err();
    assert!(
        matches!(err, VonageError::Rejected { ref code, .. } if code == "420"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_stand_in_used_by_handler_tests_echoes_numbers() {
    let server = vonage_mock().await;
    let client = VonageClient::new(&mock_config(&server)).unwrap();
    assert_eq!(
        client.basic_insight(&m("12025550143")).await.unwrap(),
        Insight::Valid {
            international: m("12025550143"),
            country: "US".parse().unwrap(),
            facts: Default::default(),
        }
    );
}

#[test]
fn features_take_the_spellings_the_search_allows() {
    use shared::vonage::features_param;
    assert_eq!(features_param(&["voice", "SMS"]), Some("SMS,VOICE"));
    assert_eq!(
        features_param(&["VOICE", "MMS", "sms"]),
        Some("SMS,MMS,VOICE")
    );
    assert_eq!(features_param(&[" mms ", "voice"]), Some("VOICE,MMS"));
    assert_eq!(features_param(&["SMS", "SMS"]), None, "repeated");
    assert_eq!(features_param(&["FAX"]), None);
    assert_eq!(features_param::<&str>(&[]), None);
}

#[tokio::test]
async fn numbers_requests_are_accepted_by_the_spec() {
    use shared::vonage::{NumberQuery, features_param};
    let client = prism_client();
    // Every feature set, given in reverse order, goes out in a spelling the spec accepts.
    for set in [
        vec!["SMS"],
        vec!["VOICE"],
        vec!["VOICE", "SMS"],
        vec!["MMS"],
        vec!["MMS", "SMS"],
        vec!["MMS", "VOICE"],
        vec!["VOICE", "MMS", "SMS"],
    ] {
        let query = NumberQuery {
            country: "GB".parse().unwrap(),
            features: features_param(&set),
            number_type: Some(shared::values::NumberType::MobileLvn),
            starts_with: Some("447700".into()),
            size: 3,
        };
        let offers = client.search_numbers(&query).await.unwrap();
        assert_eq!(offers[0].msisdn, "447700900000", "{set:?}");
    }
    client.buy_number(&m("447700900000"), &gb()).await.unwrap();
    client
        .cancel_number(&m("447700900000"), &gb())
        .await
        .unwrap();
    let owned = client.owned_number(&m("447700900000")).await.unwrap();
    assert_eq!(owned.unwrap().country, "GB");
}

#[tokio::test]
async fn a_refused_purchase_is_a_rejection_with_its_reason() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/number/buy"))
        .respond_with(ResponseTemplate::new(420).set_body_json(serde_json::json!({
            "error-code": "420",
            "error-code-label": "method failed: 447700900123 needs an address"
        })))
        .mount(&server)
        .await;
    let client = VonageClient::new(&mock_config(&server)).unwrap();
    let err = client
        .buy_number(&m("447700900123"), &gb())
        .await
        .unwrap_err();
    assert!(
        matches!(err, VonageError::Rejected { ref code, .. } if code == "420"),
        "{err:?}"
    );
    assert!(
        !error_chain(&err).contains("447700900123"),
        "numbers masked: {err}"
    );
}

/// The Application API client as the set-up uses it. Its requests go through Prism proxying
/// `application.v2.yml` (`--errors`: a request or answer the spec refuses fails), in front of a
/// stand-in answering as Vonage does (Prism's own mock drops `id` from the creation example).
#[tokio::test]
async fn application_requests_are_accepted_by_the_spec() {
    use shared::vonage::ApplicationSpec;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ID: &str = "78d335fa-323d-0114-9c3d-d6f0d48968cf";
    let base = "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks";
    let hook =
        |p: &str| serde_json::json!({"address": format!("{base}/{p}"), "http_method": "POST"});
    let shown = serde_json::json!({
        "id": ID, "name": "voice-proxy",
        "capabilities": {
            "voice": {"webhooks": {
                "answer_url": hook("answer"), "fallback_answer_url": hook("fallback"), "event_url": hook("event"),
            }, "conversations_ttl": 48},
            "messages": {"webhooks": {
                "inbound_url": {"address": "https://example.com/inbound", "http_method": "POST"},
                "status_url": {"address": "https://example.com/status", "http_method": "POST"},
            }},
            "rtc": {"webhooks": {"event_url": {"address": "https://example.com/rtc", "http_method": "POST"}}},
        },
        "_links": {"self": {"href": format!("/v2/applications/{ID}")}},
    });
    let mut created = shown.clone();
    created["keys"] = serde_json::json!({
        "public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    });
    let stand_in = MockServer::start().await;
    for (verb, at, status, body) in [
        ("POST", "/".to_owned(), 201, Some(created)),
        ("PUT", format!("/{ID}"), 200, Some(shown.clone())),
        ("GET", format!("/{ID}"), 200, Some(shown)),
        ("DELETE", format!("/{ID}"), 204, None),
    ] {
        let mut answer = ResponseTemplate::new(status);
        if let Some(body) = body {
            answer = answer.set_body_json(body);
        }
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(answer)
            .mount(&stand_in)
            .await;
    }
    let proxy = testkit::SpecProxy::start("application.v2.yml", &stand_in.uri());
    let mut config = vonage_config(&proxy.url, &proxy.url, &proxy.url);
    config.applications_url = proxy.url.clone();
    let client = VonageClient::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let spec = ApplicationSpec {
        name: "voice-proxy".into(),
        answer_url: format!("{base}/answer"),
        fallback_answer_url: format!("{base}/fallback"),
        event_url: format!("{base}/event"),
        inbound_message_url: format!("{base}/inbound-message"),
        message_status_url: format!("{base}/message-status"),
    };

    let app = client.create_application(&spec).await.unwrap();
    assert_eq!(app.id, ID);
    assert!(
        app.private_key.is_some(),
        "a creation answers with the private key"
    );
    let current = client.get_application(ID).await.unwrap().unwrap();
    assert_eq!(
        current.event_url.as_ref().unwrap().http_method.as_deref(),
        Some("POST")
    );
    let app = client.update_application(&current, &spec).await.unwrap();
    assert_eq!(app.answer_url.unwrap().address, format!("{base}/answer"));
    client.delete_application(ID).await.unwrap();

    assert_eq!(
        current.inbound_message_url.unwrap().address,
        "https://example.com/inbound"
    );
    // What the client sent: Basic credentials, every webhook by POST, signed callbacks on,
    // the Messages API's webhooks (v1) at the stack's.
    let sent = stand_in.received_requests().await.unwrap();
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|r| {
        r.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    }));
    for sent in [&sent[0], &sent[2]] {
        let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["capabilities"]["voice"]["signed_callbacks"], true);
        for webhook in ["answer_url", "fallback_answer_url", "event_url"] {
            assert_eq!(
                body["capabilities"]["voice"]["webhooks"][webhook]["http_method"],
                "POST"
            );
        }
        let messages = &body["capabilities"]["messages"];
        assert_eq!(messages["version"], "v1");
        for (webhook, at) in [
            ("inbound_url", "inbound-message"),
            ("status_url", "message-status"),
        ] {
            assert_eq!(
                messages["webhooks"][webhook],
                serde_json::json!({"address": format!("{base}/{at}"), "http_method": "POST"})
            );
        }
    }
    // An update keeps what the application had besides: its other capabilities and settings.
    let updated: serde_json::Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(updated["capabilities"]["voice"]["conversations_ttl"], 48);
    assert_eq!(
        updated["capabilities"]["rtc"]["webhooks"]["event_url"]["address"],
        "https://example.com/rtc"
    );
}
