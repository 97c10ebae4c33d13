//! Creation with the number check as deployed: Identity Insights (through a Prism proxy serving
//! `identity-insights.yml`, in front of a stand-in that answers each case) and the real local
//! DynamoDB-API server. A check that cannot answer never fails a creation; a definite "not
//! valid" refuses it and writes nothing; a landline takes calls and no texts.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use shared::ports::Conversations;
use std::time::Duration;

use common::{App, add_number, pair};
use serde_json::{Value, json};
use shared::model::NumberState;
use shared::vonage::NumberCheck;
use testkit::{
    SpecProxy, all_items, application_key_pair, fresh_store, identity_insights_client, vonage_mock,
};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const A: &str = "447700900001";
const B: &str = "447700900002";

/// What Identity Insights says of a valid British number on `network_type`.
fn valid(number: &str, network_type: &str) -> Value {
    let ok = json!({"code": "OK"});
    json!({"insights": {
        "format": {"country_code": "GB", "number_international": format!("+{number}"),
                   "time_zones": ["Europe/London"], "offline_location": "London",
                   "is_format_valid": true, "status": ok},
        "original_carrier": {"network_type": network_type, "status": ok}
    }})
}

/// An API on a fresh table with two GB pool numbers, checking numbers with Identity Insights
/// (behind Prism) that the stand-in `insights` answers.
async fn app_checking_with(insights: &MockServer) -> (App, SpecProxy) {
    let store = fresh_store().await;
    for n in ["447700900101", "447700900102"] {
        add_number(&store, n, "GB", NumberState::Active).await;
    }
    let mut app = App::with(store, vonage_mock().await);
    let prism = SpecProxy::start("identity-insights.yml", &insights.uri());
    let (private, _) = application_key_pair();
    let client = identity_insights_client(
        &prism.url,
        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        &private,
        Duration::from_secs(2),
    );
    app.deps.vonage = app
        .deps
        .vonage
        .clone()
        .with_number_check(NumberCheck::IdentityInsights(client));
    (app, prism)
}

async fn answer_for(insights: &MockServer, number: &str, status: u16, body: Value) {
    let content_type = if status == 200 {
        "application/json"
    } else {
        "application/problem+json"
    };
    Mock::given(method("POST"))
        .and(path("/requests"))
        .and(body_partial_json(json!({"phone_number": number})))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body.to_string(), content_type))
        .mount(insights)
        .await;
}

fn kept_answers(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> usize {
    items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("INSIGHT#"))
        .count()
}

#[tokio::test]
async fn identity_insights_down_still_creates_with_numbers_checked_locally() {
    let insights = MockServer::start().await;
    let problem = json!({"title": "Service Unavailable", "detail": "Try again later"});
    answer_for(&insights, A, 503, problem.clone()).await;
    answer_for(&insights, B, 503, problem).await;
    let (app, _prism) = app_checking_with(&insights).await;

    let (status, created) = app.create(pair(A, B)).await;
    assert_eq!(status, 201, "{created}");
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(
            (&p["checked"], &p["sms"]),
            (&json!("local"), &json!(true)),
            "{created}"
        );
    }
    // Each number was asked about (and retried) before it was checked locally.
    assert_eq!(insights.received_requests().await.unwrap().len(), 6);
    // A local answer is not kept: the next creation asks Vonage again.
    assert_eq!(kept_answers(&all_items(&app.deps.store).await), 0);
}

#[tokio::test]
async fn a_number_identity_insights_calls_not_valid_is_a_422_that_writes_nothing() {
    let insights = MockServer::start().await;
    let mut not_valid = valid(A, "MOBILE");
    not_valid["insights"]["format"]["is_format_valid"] = json!(false);
    answer_for(&insights, A, 200, not_valid).await;
    answer_for(&insights, B, 200, valid(B, "MOBILE")).await;
    let (app, _prism) = app_checking_with(&insights).await;
    let before = all_items(&app.deps.store).await;

    let (status, problem) = app.create(pair(A, B)).await;
    assert_eq!(
        (status, &problem["code"]),
        (422, &json!("number_not_valid")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("participants[0]")
    );
    assert_eq!(
        all_items(&app.deps.store).await.len(),
        before.len(),
        "nothing written"
    );
}

#[tokio::test]
async fn a_landline_takes_calls_and_no_texts_and_its_answer_is_kept() {
    let insights = MockServer::start().await;
    answer_for(&insights, A, 200, valid(A, "MOBILE")).await;
    answer_for(&insights, B, 200, valid(B, "LANDLINE")).await;
    let (app, _prism) = app_checking_with(&insights).await;

    let (status, created) = app.create(pair(A, B)).await;
    assert_eq!(status, 201, "{created}");
    let people = created["participants"].as_array().unwrap();
    assert_eq!(
        (&people[0]["sms"], &people[1]["sms"]),
        (&json!(true), &json!(false))
    );
    for p in people {
        assert_eq!(p["checked"], json!("vonage"));
        assert_eq!(p["time_zone"], json!("Europe/London"));
    }
    let id = created["id"].as_str().unwrap();
    let stored = app
        .deps
        .store
        .conversation(&id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.participants[1].takes_texts());
    assert_eq!(
        stored.participants[1].facts.location.as_deref(),
        Some("London")
    );
    // Both answers are kept, with what they said: a returning participant costs no lookup
    // and is still known as a landline.
    assert_eq!(kept_answers(&all_items(&app.deps.store).await), 2);
    let close = format!("/conversations/{id}");
    assert_eq!(
        app.call(common::request("DELETE", &close, None, ""))
            .await
            .0,
        200
    );
    let (status, again) = app.create(pair(A, B)).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["participants"][1]["sms"], json!(false));
    assert_eq!(
        insights.received_requests().await.unwrap().len(),
        2,
        "answers were kept"
    );
}
