//! How proxy numbers are given out, against the real local DynamoDB-API server: load spread,
//! reserved numbers, the cool-off, sticky assignment and renting when the pool runs out.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use shared::ports::Pool;
use std::collections::HashMap;

use common::{App, add_number, pair};
use conversations::Deps;
use serde_json::{Value, json};
use shared::config::ConversationConfig;
use shared::model::NumberState;
use shared::vonage::VonageClient;
use testkit::{SpecProxy, fresh_store, mock_config, vonage_config, vonage_mock};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GB: [&str; 4] = [
    "447700900101",
    "447700900102",
    "447700900103",
    "447700900104",
];

fn person(i: usize) -> String {
    format!("4477009{i:05}")
}

async fn close(app: &App, id: &Value) {
    let id = id.as_str().unwrap();
    let (status, _, _) = app
        .call(common::request(
            "DELETE",
            &format!("/conversations/{id}"),
            None,
            "",
        ))
        .await;
    assert_eq!(status, 200);
}

async fn usage(app: &App) -> HashMap<String, (i64, NumberState)> {
    app.deps
        .store
        .list_pool()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.msisdn.as_str().to_owned(), (n.active_count, n.state)))
        .collect()
}

#[tokio::test]
async fn load_is_spread_over_the_pool() {
    let pool: Vec<(&str, &str)> = GB.iter().map(|n| (*n, "GB")).collect();
    let app = App::new(&pool).await;
    for i in 0..8 {
        let (status, c) = app.create(pair(&person(2 * i), &person(2 * i + 1))).await;
        assert_eq!(status, 201, "{c}");
    }
    // 16 routes over 4 numbers, least used first: 4 each.
    let counts: Vec<i64> = usage(&app).await.values().map(|(n, _)| *n).collect();
    assert_eq!(counts, [4, 4, 4, 4]);
}

#[tokio::test]
async fn reserved_numbers_are_never_given_out() {
    let app = App::new(&[(GB[0], "GB")]).await;
    add_number(&app.deps.store, GB[1], "GB", NumberState::Reserved).await;
    let (status, _) = app.create(pair(&person(1), &person(2))).await;
    assert_eq!(status, 201);
    // person(1) already holds the only active number: a second conversation needs another.
    let (status, body) = app.create(pair(&person(1), &person(3))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pool_exhausted"))
    );
    assert!(body["detail"].as_str().unwrap().contains("participants[0]"));
    assert_eq!(usage(&app).await[GB[1]], (0, NumberState::Reserved));
}

#[tokio::test]
async fn a_freed_pair_cools_off_before_serving_someone_else() {
    let store = fresh_store().await;
    add_number(&store, GB[0], "GB", NumberState::Active).await;
    let app = App::configured(store, vonage_mock().await, &[("COOL_OFF_SECONDS", "600")]);
    let (_, first) = app.create(pair(&person(1), &person(2))).await;
    close(&app, &first["id"]).await;

    // A late call-back from person(2) on that number must not ring someone new.
    let (status, body) = app.create(pair(&person(1), &person(3))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pool_exhausted")),
        "{body}"
    );
    // The same two people may have it again at once.
    let (status, again) = app.create(pair(&person(1), &person(2))).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["participants"][0]["proxy_number"], GB[0]);

    // With no cool-off the pair serves someone else straight away.
    let store = fresh_store().await;
    add_number(&store, GB[0], "GB", NumberState::Active).await;
    let app = App::configured(store, vonage_mock().await, &[("COOL_OFF_SECONDS", "0")]);
    let (_, first) = app.create(pair(&person(1), &person(2))).await;
    close(&app, &first["id"]).await;
    let (status, body) = app.create(pair(&person(1), &person(3))).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn sticky_assignment_keeps_the_number_a_pair_had_before() {
    let store = fresh_store().await;
    for n in &GB[..3] {
        add_number(&store, n, "GB", NumberState::Active).await;
    }
    let app = App::configured(store, vonage_mock().await, &[("STICKY_NUMBERS", "true")]);
    let (_, first) = app.create(pair(&person(1), &person(2))).await;
    let proxies = |c: &Value| {
        (
            c["participants"][0]["proxy_number"].clone(),
            c["participants"][1]["proxy_number"].clone(),
        )
    };
    let before = proxies(&first);
    close(&app, &first["id"]).await;
    for _ in 0..5 {
        // Someone else takes load meanwhile, which would steer a least-used pick away.
        let (_, other) = app.create(pair(&person(7), &person(8))).await;
        let (status, again) = app.create(pair(&person(1), &person(2))).await;
        assert_eq!(status, 201, "{again}");
        assert_eq!(proxies(&again), before);
        close(&app, &again["id"]).await;
        close(&app, &other["id"]).await;
    }
}

/// A Vonage stand-in that also sells numbers: the search offers `offers`, every purchase works.
async fn selling(offers: &[&str]) -> MockServer {
    let vonage = vonage_mock().await;
    let numbers: Vec<Value> = offers
        .iter()
        .map(|n| json!({"country": "GB", "msisdn": n, "type": "mobile-lvn", "cost": "1.25", "features": ["VOICE", "SMS"]}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": numbers.len(), "numbers": numbers})),
        )
        .with_priority(1)
        .mount(&vonage)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/buy"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error-code": "200", "error-code-label": "success"})),
        )
        .mount(&vonage)
        .await;
    vonage
}

fn renting_app(
    store: shared::store::Store,
    vonage: &MockServer,
    numbers_url: &str,
    max: &str,
) -> Deps {
    let mock = mock_config(vonage);
    let config = vonage_config(&mock.number_insight_url, &mock.sms_url, numbers_url);
    let settings = HashMap::from([
        ("AUTO_RENT".to_owned(), "true".to_owned()),
        ("AUTO_RENT_MAX_PER_COUNTRY".to_owned(), max.to_owned()),
    ]);
    Deps {
        store,
        vonage: VonageClient::new(&config).unwrap(),
        conversations: ConversationConfig::from_source(&move |k: &str| settings.get(k).cloned())
            .unwrap(),
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        calls: None,
    }
}

#[tokio::test]
async fn an_empty_pool_rents_up_to_its_ceiling_when_allowed() {
    let vonage = selling(&["447700900201", "447700900202"]).await;
    // Every Numbers request goes through Prism checking it against numbers.yml.
    let proxy = SpecProxy::start("numbers.yml", &vonage.uri());
    let app = App {
        deps: renting_app(fresh_store().await, &vonage, &proxy.url, "1"),
        vonage,
    };
    let (status, c) = app.create(pair(&person(1), &person(2))).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["participants"][0]["proxy_number"], "447700900201");
    assert_eq!(c["participants"][1]["proxy_number"], "447700900201");
    assert_eq!(usage(&app).await["447700900201"], (2, NumberState::Active));

    // person(1) needs a second number, and GB is at its ceiling of one.
    let (status, body) = app.create(pair(&person(1), &person(3))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("pool_exhausted"))
    );
    assert!(
        body["detail"].as_str().unwrap().contains("ceiling"),
        "{body}"
    );
    assert_eq!(usage(&app).await.len(), 1, "nothing more was rented");
}

#[tokio::test]
async fn parallel_creations_never_rent_past_the_ceiling() {
    let offers: Vec<String> = (0..8).map(|i| format!("4477009002{i:02}")).collect();
    let offers: Vec<&str> = offers.iter().map(String::as_str).collect();
    let vonage = selling(&offers).await;
    let uri = vonage.uri();
    let app = App {
        deps: renting_app(fresh_store().await, &vonage, &uri, "2"),
        vonage,
    };
    // Six conversations at once for the same participant: each needs its own number.
    let results =
        futures::future::join_all((0..6).map(|i| app.create(pair(&person(1), &person(10 + i)))))
            .await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == 201 || b["code"] == "pool_exhausted"),
        "{results:?}"
    );
    let pool = usage(&app).await;
    assert_eq!(pool.len(), 2, "the ceiling holds: {pool:?}");
    assert_eq!(
        created, 2,
        "one conversation per number for the same participant"
    );
    let bought = app
        .vonage
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/number/buy")
        .count();
    assert_eq!(bought, 2);
}
