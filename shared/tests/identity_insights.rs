//! Identity Insights, the number check that replaces Number Insight: every request passes a
//! Prism proxy serving `identity-insights.yml` (request and answer both checked against the
//! spec) on its way to a stand-in that answers as Vonage does in each case; each request is
//! signed with the application's token, verified here with the public key.
#![cfg(feature = "services")] // needs Prism: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use serde_json::{Value, json};
use shared::model::{LineType, NumberFacts};
use shared::phone::Msisdn;
use shared::vonage::{Api, IdentityInsightsClient, Insight, VonageError};
use testkit::{SpecProxy, application_claims, application_key_pair, identity_insights_client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn ok() -> Value {
    json!({"code": "OK", "message": "Success"})
}

/// The answer Vonage gives for a valid British number on `network_type`.
fn answer(network_type: &str) -> Value {
    json!({
        "request_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        "insights": {
            "format": {
                "country_code": "GB", "country_name": "United Kingdom", "country_prefix": "44",
                "offline_location": "London", "time_zones": ["Europe/London"],
                "number_international": "+447700900001", "number_national": "07700 900001",
                "is_format_valid": true, "status": ok()
            },
            "original_carrier": {
                "name": "Vodafone", "network_type": network_type, "country_code": "GB",
                "network_code": "23415", "status": ok()
            }
        }
    })
}

/// A stand-in answering every request with `status` and `body`, behind a Prism proxy; the
/// client signs with a new key pair. (client, stand-in, proxy, public key)
async fn behind_prism(
    status: u16,
    body: Value,
) -> (IdentityInsightsClient, MockServer, SpecProxy, String) {
    let stand_in = MockServer::start().await;
    let content_type = if status == 200 {
        "application/json"
    } else {
        "application/problem+json"
    };
    Mock::given(method("POST"))
        .and(path("/requests"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body.to_string(), content_type))
        .mount(&stand_in)
        .await;
    let prism = SpecProxy::start("identity-insights.yml", &stand_in.uri());
    let (private, public) = application_key_pair();
    let client = identity_insights_client(&prism.url, APP, &private, Duration::from_secs(5));
    (client, stand_in, prism, public)
}

#[tokio::test]
async fn a_valid_mobile_is_checked_with_a_signed_request_the_spec_accepts() {
    let (client, stand_in, _prism, public) = behind_prism(200, answer("MOBILE")).await;
    let insight = client.check(&m("447700900001")).await.unwrap();
    assert_eq!(
        insight,
        Insight::Valid {
            international: m("447700900001"),
            country: "GB".parse().unwrap(),
            facts: NumberFacts {
                line: Some(LineType::Mobile),
                time_zone: Some("Europe/London".into()),
                location: Some("London".into()),
            },
        }
    );
    let requests = stand_in.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "it passed the spec");
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[0].body).unwrap(),
        json!({"phone_number": "447700900001", "insights": {"format": {}, "original_carrier": {}}})
    );
    let claims = application_claims(&requests[0], &public);
    assert_eq!(claims["application_id"], APP);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(
        (iat - shared::now()).abs() <= 5 && exp - iat >= 30,
        "{claims}"
    );
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());

    // A fresh jti for every request.
    client.check(&m("447700900001")).await.unwrap();
    let requests = stand_in.received_requests().await.unwrap();
    assert_ne!(
        application_claims(&requests[0], &public)["jti"],
        application_claims(&requests[1], &public)["jti"]
    );
}

#[tokio::test]
async fn a_landline_is_valid_and_says_so() {
    let (client, _stand_in, _prism, _) = behind_prism(200, answer("LANDLINE")).await;
    let Insight::Valid { facts, .. } = client.check(&m("447700900001")).await.unwrap() else {
        panic!("a landline is a valid number");
    };
    assert_eq!(facts.line, Some(LineType::Landline));
    assert!(!facts.takes_texts());
}

#[tokio::test]
async fn an_invalid_format_is_a_definite_not_valid() {
    let mut body = answer("MOBILE");
    body["insights"]["format"]["is_format_valid"] = json!(false);
    let (client, _stand_in, _prism, _) = behind_prism(200, body).await;
    assert!(matches!(
        client.check(&m("447700900001")).await.unwrap(),
        Insight::NotValid { ref status, .. } if status == "is_format_valid"
    ));

    let body = json!({"insights": {"format": {"status": {
        "code": "INVALID_NUMBER_FORMAT", "message": "Invalid number format"}}}});
    let (client, _stand_in, _prism, _) = behind_prism(200, body).await;
    assert_eq!(
        client.check(&m("447700900001")).await.unwrap(),
        Insight::NotValid {
            status: "INVALID_NUMBER_FORMAT".into(),
            message: "Invalid number format".into()
        }
    );
}

#[tokio::test]
async fn any_other_status_of_the_format_insight_is_a_check_that_could_not_answer() {
    for code in [
        "UNSUPPORTED_NETWORK_TYPE",
        "NO_COVERAGE",
        "NOT_FOUND",
        "UNAUTHORIZED",
        "INVALID_PURPOSE",
        "SUPPLIER_ERROR",
        "INTERNAL_ERROR",
    ] {
        let body = json!({"insights": {"format": {"status": {"code": code}}}});
        let (client, _stand_in, _prism, _) = behind_prism(200, body).await;
        let err = client.check(&m("447700900001")).await.unwrap_err();
        assert!(
            matches!(err, VonageError::Rejected { api: Api::IdentityInsights, code: ref c, .. } if c == code),
            "{code}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_carrier_that_is_not_known_leaves_the_line_unknown() {
    let mut body = answer("MOBILE");
    body["insights"]["original_carrier"] = json!({"status": {"code": "NOT_FOUND"}});
    let (client, _stand_in, _prism, _) = behind_prism(200, body).await;
    let Insight::Valid { facts, .. } = client.check(&m("447700900001")).await.unwrap() else {
        panic!("the format insight said valid");
    };
    assert_eq!(facts.line, None);
    assert!(facts.takes_texts(), "only a known landline is spared texts");
}

#[tokio::test]
async fn an_unknown_time_zone_is_none() {
    let mut body = answer("MOBILE");
    body["insights"]["format"]["time_zones"] = json!(["unknown"]);
    let (client, _stand_in, _prism, _) = behind_prism(200, body).await;
    let Insight::Valid { facts, .. } = client.check(&m("447700900001")).await.unwrap() else {
        panic!("valid");
    };
    assert_eq!(facts.time_zone, None);
}

#[tokio::test]
async fn throttling_and_outages_are_retried_then_reported() {
    for status in [429, 503] {
        let problem = json!({"title": "Unavailable", "detail": "Try again later"});
        let (client, stand_in, _prism, _) = behind_prism(status, problem).await;
        let err = client.check(&m("447700900001")).await.unwrap_err();
        assert!(
            matches!(err, VonageError::Status { status: s, .. } if s == status),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert_eq!(
            stand_in.received_requests().await.unwrap().len(),
            3,
            "two retries"
        );
    }
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let stand_in = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer("MOBILE"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&stand_in)
        .await;
    let (private, _) = application_key_pair();
    let client =
        identity_insights_client(&stand_in.uri(), APP, &private, Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = client.check(&m("447700900001")).await.unwrap_err();
    assert!(
        matches!(
            err,
            VonageError::Timeout {
                api: Api::IdentityInsights
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "it does not wait for the answer"
    );
}

#[tokio::test]
async fn an_extensible_status_vonage_adds_later_is_handled() {
    // Prism would refuse a status the spec does not list yet, so the stand-in answers alone.
    let stand_in = MockServer::start().await;
    let body = json!({"insights": {"format": {"status": {"code": "SOMETHING_NEW"}}}});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&stand_in)
        .await;
    let (private, _) = application_key_pair();
    let client = identity_insights_client(&stand_in.uri(), APP, &private, Duration::from_secs(2));
    assert!(client.check(&m("447700900001")).await.is_err());
}

#[tokio::test]
async fn the_spec_mock_refuses_a_request_without_the_application_token() {
    let stand_in = MockServer::start().await;
    let prism = SpecProxy::start("identity-insights.yml", &stand_in.uri());
    let status = reqwest::Client::new()
        .post(format!("{}/requests", prism.url))
        .json(&json!({"phone_number": "447700900001", "insights": {"format": {}}}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    assert!(stand_in.received_requests().await.unwrap().is_empty());
}
