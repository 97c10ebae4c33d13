//! Area-code match (`GEO_MATCH=area`, the default), against the real local DynamoDB-API server,
//! the numbers checked by Identity Insights behind Prism: a pool holding numbers from two areas
//! of one country gives each participant a number of their own area while one is free, then
//! one of their country; under parallel creations rule 2 still holds.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{App, assert_consistent, create_all, m};
use serde_json::{Value, json};
use shared::model::{NumberState, PoolNumber};
use shared::ports::Pool;
use shared::vonage::NumberCheck;
use testkit::{
    SpecProxy, application_key_pair, fresh_store, identity_insights_client, vonage_mock,
};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// New York numbers start 1212, Californian ones 1310.
const NEW_YORK: [&str; 3] = ["12125550100", "12125550101", "12125550102"];
const CALIFORNIA: [&str; 3] = ["13105550100", "13105550101", "13105550102"];

fn area_of(number: &str) -> &'static str {
    if number.starts_with("1212") {
        "New York"
    } else {
        "California"
    }
}

/// Identity Insights as Vonage answers for a valid US mobile: its area from its prefix.
struct Insights;

impl Respond for Insights {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let asked: Value = serde_json::from_slice(&request.body).unwrap();
        let number = asked["phone_number"]
            .as_str()
            .unwrap()
            .trim_start_matches('+');
        let ok = json!({"code": "OK"});
        ResponseTemplate::new(200).set_body_json(json!({"insights": {
            "format": {"country_code": "US", "number_international": format!("+{number}"),
                       "time_zones": ["America/New_York"], "offline_location": area_of(number),
                       "is_format_valid": true, "status": ok},
            "original_carrier": {"network_type": "MOBILE", "status": ok},
        }}))
    }
}

async fn app(settings: &[(&str, &str)]) -> (App, SpecProxy, MockServer) {
    let store = fresh_store().await;
    for n in NEW_YORK.iter().chain(&CALIFORNIA) {
        store
            .add_number(&PoolNumber {
                location: Some(area_of(n).to_owned()),
                ..PoolNumber::new(m(n), "US".parse().unwrap(), NumberState::Active, 0)
            })
            .await
            .unwrap();
    }
    let insights = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/requests"))
        .respond_with(Insights)
        .mount(&insights)
        .await;
    let prism = SpecProxy::start("identity-insights.yml", &insights.uri());
    let (private, _) = application_key_pair();
    let client = identity_insights_client(
        &prism.url,
        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        &private,
        Duration::from_secs(2),
    );
    let mut app = App::configured(store, vonage_mock().await, settings);
    app.deps.vonage = app
        .deps
        .vonage
        .clone()
        .with_number_check(NumberCheck::IdentityInsights(client));
    (app, prism, insights)
}

/// A New Yorker and a Californian, `i` telling people apart.
fn new_yorker(i: usize) -> String {
    format!("1212555{:04}", 2000 + i)
}
fn californian(i: usize) -> String {
    format!("1310555{:04}", 2000 + i)
}

fn areas(created: &Value) -> Vec<(String, &'static str)> {
    created["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let number = p["number"]
                .as_str()
                .unwrap()
                .trim_start_matches('+')
                .to_owned();
            let proxy = p["proxy_number"].as_str().unwrap().trim_start_matches('+');
            (number, area_of(proxy))
        })
        .collect()
}

#[tokio::test]
async fn each_participant_gets_a_number_of_their_own_area_while_one_is_free() {
    let (app, _prism, _insights) = app(&[]).await;
    let (status, created) = app
        .create(common::pair(&new_yorker(0), &californian(0)))
        .await;
    assert_eq!(status, 201, "{created}");
    for (number, proxy_area) in areas(&created) {
        assert_eq!(proxy_area, area_of(&number), "{created}");
    }

    // A New Yorker in four conversations at once holds the three New York numbers, then one
    // of their country.
    let mut got = Vec::new();
    for k in 1..=4 {
        let (status, created) = app
            .create(common::pair(&new_yorker(0), &californian(k)))
            .await;
        assert_eq!(status, 201, "{created}");
        got.push(areas(&created)[0].1);
    }
    assert_eq!(got[..2], ["New York", "New York"], "{got:?}");
    assert_eq!(got[3], "California", "then their country: {got:?}");
}

#[tokio::test]
async fn with_country_matching_the_area_is_not_looked_at() {
    let (app, _prism, _insights) = app(&[("GEO_MATCH", "country")]).await;
    let mut seen = HashMap::new();
    for k in 0..6 {
        let (status, created) = app
            .create(common::pair(&new_yorker(k), &new_yorker(10 + k)))
            .await;
        assert_eq!(status, 201, "{created}");
        for (_, area) in areas(&created) {
            *seen.entry(area).or_insert(0) += 1;
        }
    }
    assert!(
        seen.get("California").copied().unwrap_or(0) > 0,
        "the least used of the country, wherever it is: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creations_match_areas_and_hold_rule_two() {
    let (app, _prism, _insights) = app(&[]).await;
    let app = Arc::new(app);
    // Four New Yorkers and four Californians, each pair of neighbours talking, all at once.
    let mut pairs = Vec::new();
    for k in 0..4 {
        pairs.push((new_yorker(k), new_yorker((k + 1) % 4)));
        pairs.push((californian(k), californian((k + 1) % 4)));
        pairs.push((new_yorker(k), californian(k)));
    }
    let answers = create_all(&app, pairs).await;
    let mut created = Vec::new();
    for (_, _, status, body) in answers {
        assert_eq!(status, 201, "{body}");
        created.push(body);
    }
    // Each participant is in three conversations; their area has three numbers: every one of
    // them is served from their own area.
    for c in &created {
        for (number, proxy_area) in areas(c) {
            assert_eq!(proxy_area, area_of(&number), "{c}");
        }
    }
    assert_consistent(&app.deps.store, &created, NEW_YORK.len() + CALIFORNIA.len()).await;
}
