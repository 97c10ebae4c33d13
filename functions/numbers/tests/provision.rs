//! Renting, retiring and releasing numbers, against the real local DynamoDB-API server, with
//! every Numbers request checked by Prism serving `numbers.yml` (as a mock, or as a validating
//! proxy in front of a stand-in that can fail on purpose).
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::{Conversations, Pool};
use std::time::Duration;

use lambda_http::{Body, Request, RequestExt};
use numbers::{Deps, handle};
use serde_json::{Value, json};
use shared::domain::rent::{ProvisionRequest, Provisioner, SETTLE_SECONDS};
use shared::model::{CloseReason, PendingStage};
use shared::store::Store;
use shared::vonage::{NumberQuery, VonageClient};
use testkit::{SpecProxy, conversation, fresh_store, vonage_config};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";

fn client(numbers_url: &str) -> VonageClient {
    let config = vonage_config(
        "http://127.0.0.1:9/ni",
        "http://127.0.0.1:9/sms",
        numbers_url,
    );
    VonageClient::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(5))
}

fn deps(store: Store, numbers_url: &str) -> Deps {
    Deps {
        store,
        vonage: client(numbers_url),
        application_id: APP.into(),
    }
}

fn prism_numbers() -> String {
    std::env::var("PRISM_NUMBERS_URL")
        .expect("PRISM_NUMBERS_URL is not set: run the tests with scripts/test")
}

async fn call(deps: &Deps, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let mut b = http::Request::builder().method(method).uri(uri);
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    // API Gateway hands the query string over parsed.
    let query: std::collections::HashMap<String, String> = uri
        .split_once('?')
        .map(|(_, q)| serde_urlencoded::from_str(q).unwrap())
        .unwrap_or_default();
    let req: Request = b
        .body(body.map_or(Body::Empty, |v| Body::Text(v.to_string())))
        .unwrap()
        .with_query_string_parameters(query);
    let r = handle(deps, req).await;
    let status = r.status().as_u16();
    let body = match r.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    };
    (status, body)
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"error-code": "200", "error-code-label": "success"}))
}

fn offer(msisdn: &str) -> Value {
    json!({"country": "GB", "msisdn": msisdn, "type": "mobile-lvn", "cost": "1.25", "features": ["VOICE", "SMS"]})
}

#[tokio::test]
async fn provisioning_searches_buys_and_links_as_the_spec_says() {
    let deps = deps(fresh_store().await, &prism_numbers());
    // Features in another order and case are sent in a spelling the spec allows.
    let (status, body) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 1, "features": ["voice", "sms"], "type": "mobile-lvn", "pattern": "4477"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Prism answers every search with the spec's example number.
    assert_eq!(body["added"][0]["msisdn"], "447700900000");
    assert_eq!(body["added"][0]["state"], "active");
    assert_eq!(
        body["added"][0]["capabilities"],
        json!(["VOICE", "SMS", "MMS"])
    );
    assert_eq!(body["failed"], json!([]));

    let (_, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(pool["numbers"].as_array().unwrap().len(), 1);
    assert_eq!(pool["pending"], json!([]));

    // Asking again finds only that number, already in the pool: nothing bought twice.
    let (status, again) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "features": "SMS,VOICE"})),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["added"], json!([]));
    assert_eq!(again["failed"][0]["step"], "search");
}

#[tokio::test]
async fn a_number_bought_but_not_linked_is_finished_by_the_next_call() {
    let store = fresh_store().await;
    let stand_in = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .and(query_param("features", "SMS,VOICE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2,
            "numbers": [offer("447700900201"), offer("447700900202")]
        })))
        .mount(&stand_in)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/buy"))
        .respond_with(ok())
        .mount(&stand_in)
        .await;
    // Linking fails (every retry too) during the first call.
    let broken = Mock::given(method("POST"))
        .and(path("/number/update"))
        .respond_with(ResponseTemplate::new(500))
        .mount_as_scoped(&stand_in)
        .await;
    let proxy = SpecProxy::start("numbers.yml", &stand_in.uri());
    let deps = deps(store, &proxy.url);

    let (status, first) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 1, "features": "VOICE,SMS"})),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["added"], json!([]));
    let failed = &first["failed"][0];
    assert_eq!(
        (&failed["msisdn"], &failed["step"], &failed["pending"]),
        (&json!("447700900201"), &json!("link"), &json!(true)),
        "{first}"
    );
    let (_, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(
        pool["numbers"],
        json!([]),
        "not assignable before it is linked"
    );
    assert_eq!(pool["pending"][0]["msisdn"], "447700900201");
    assert_eq!(pool["pending"][0]["stage"], "bought");

    drop(broken);
    Mock::given(method("POST"))
        .and(path("/number/update"))
        .respond_with(ok())
        .mount(&stand_in)
        .await;
    let (status, second) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 1, "features": "SMS,VOICE"})),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["recovered"][0]["msisdn"], "447700900201");
    assert_eq!(second["added"][0]["msisdn"], "447700900202");
    let (_, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(pool["pending"], json!([]));
    assert_eq!(pool["summary"]["countries"][0]["active"], 2);

    // Each number was bought once; every request went through the spec check.
    let requests = stand_in.received_requests().await.unwrap();
    let bought: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path() == "/number/buy")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bought.len(), 2, "{bought:?}");
    assert!(bought.iter().all(|b| b.contains("country=GB")));
    assert!(requests.iter().all(|r| {
        let q = r.url.query().unwrap_or_default();
        q.contains("api_key=abcd1234") && q.contains("api_secret=")
    }));
}

#[tokio::test]
async fn a_purchase_without_an_answer_is_checked_with_the_account() {
    let store = fresh_store().await;
    let stand_in = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "numbers": [offer("447700900301")]
        })))
        .mount(&stand_in)
        .await;
    // The purchase goes through at Vonage, but its answer never arrives in time.
    Mock::given(method("POST"))
        .and(path("/number/buy"))
        .respond_with(ok().set_delay(Duration::from_secs(3)))
        .mount(&stand_in)
        .await;
    Mock::given(method("GET"))
        .and(path("/account/numbers"))
        .and(query_param("pattern", "447700900301"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "numbers": [offer("447700900301")]
        })))
        .mount(&stand_in)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/update"))
        .respond_with(ok())
        .mount(&stand_in)
        .await;
    let proxy = SpecProxy::start("numbers.yml", &stand_in.uri());
    let vonage = client(&proxy.url);
    let provisioner = Provisioner {
        store: &store,
        vonage: &vonage,
        application_id: APP,
    };
    let request = ProvisionRequest {
        query: NumberQuery::in_country("GB".parse().unwrap()),
        count: 1,
    };
    let now = 1_000_000;
    let report = provisioner.provision(&request, now).await.unwrap();
    assert!(report.added.is_empty());
    assert!(
        report.failed.iter().any(|f| f.pending),
        "{:?}",
        report.failed
    );
    let pending = store.list_pending().await.unwrap();
    assert_eq!(pending[0].stage, PendingStage::Buying);

    // Too soon to ask: the purchase may still be in flight.
    let early = provisioner.recover(now + 5).await.unwrap();
    assert!(early.recovered.is_empty());
    // Later, the account says it owns the number: it is linked and added.
    let later = provisioner.recover(now + SETTLE_SECONDS + 1).await.unwrap();
    assert_eq!(later.recovered[0].msisdn.as_str(), "447700900301");
    assert!(store.list_pending().await.unwrap().is_empty());
    assert_eq!(store.list_pool().await.unwrap().len(), 1);
}

#[tokio::test]
async fn release_is_refused_while_in_use_then_cancels_the_rental() {
    let store = fresh_store().await;
    testkit::add_pool(&store, &["447700900000", "447700900102"], "GB").await;
    store
        .create_conversation(&conversation(
            "c1",
            ("447700900001", "447700900000"),
            ("447700900002", "447700900102"),
            1_000,
            i64::MAX / 2,
        ))
        .await
        .unwrap();
    let deps = deps(store.clone(), &prism_numbers());

    let (status, body) = call(&deps, "DELETE", "/numbers/447700900000?release=true", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "number_in_use");
    // It was retired all the same: no new conversation gets it.
    let n = store
        .get_number(&shared::phone::Msisdn::from_digits("447700900000").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.state, shared::model::NumberState::Retired);

    store
        .close_conversation(
            &"c1".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, 2_000, 9_000),
        )
        .await
        .unwrap();
    let (status, body) = call(&deps, "DELETE", "/numbers/447700900000?release=true", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["released"], true);
    let (_, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(pool["numbers"].as_array().unwrap().len(), 1);

    // Retiring without release keeps the number, retired; unknown numbers are 404.
    let (status, body) = call(&deps, "DELETE", "/numbers/447700900102", None).await;
    assert_eq!(
        (status, &body["state"], &body["released"]),
        (200, &json!("retired"), &json!(false))
    );
    let (status, body) = call(&deps, "DELETE", "/numbers/447700900999", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = call(&deps, "DELETE", "/numbers/447700900102?release=maybe", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn the_pool_is_summarised_per_country() {
    let store = fresh_store().await;
    testkit::add_pool(&store, &["447700900101", "447700900102"], "GB").await;
    testkit::add_pool(&store, &["12025550100"], "US").await;
    store
        .retire_number(&shared::phone::Msisdn::from_digits("447700900102").unwrap())
        .await
        .unwrap();
    store
        .create_conversation(&conversation(
            "c1",
            ("447700900001", "447700900101"),
            ("447700900002", "12025550100"),
            1_000,
            i64::MAX / 2,
        ))
        .await
        .unwrap();
    let deps = deps(store, &prism_numbers());
    let (status, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        pool["summary"],
        json!({
            "countries": [
                {"country": "GB", "active": 1, "reserved": 0, "retired": 1, "active_conversations": 1},
                {"country": "US", "active": 1, "reserved": 0, "retired": 0, "active_conversations": 1},
            ],
            "max_concurrent_per_participant": 2,
            "participants_sharing": 0,
            "most_on_one_number": 0
        })
    );
}

#[tokio::test]
async fn provisioning_input_is_checked_before_anything_is_bought() {
    let deps = deps(fresh_store().await, "http://127.0.0.1:9");
    for body in [
        json!({"country": "gb"}),
        json!({"country": "GB", "count": 0}),
        json!({"country": "GB", "count": 11}),
        json!({"country": "GB", "features": "FAX"}),
        json!({"country": "GB", "type": "satellite"}),
        json!({"country": "GB", "pattern": "44x"}),
        json!({"country": "GB", "colour": "blue"}),
    ] {
        let (status, problem) = call(&deps, "POST", "/numbers/provision", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {problem}");
    }
}

/// A Numbers stand-in offering the same two numbers to every search, buying slowly enough for
/// two requests to overlap.
async fn slow_seller() -> MockServer {
    let stand_in = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2, "numbers": [offer("447700900401"), offer("447700900402")]
        })))
        .mount(&stand_in)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/buy"))
        .respond_with(ok().set_delay(Duration::from_millis(300)))
        .mount(&stand_in)
        .await;
    Mock::given(method("POST"))
        .and(path("/number/update"))
        .respond_with(ok())
        .mount(&stand_in)
        .await;
    stand_in
}

async fn bought(stand_in: &MockServer) -> Vec<String> {
    stand_in
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/number/buy")
        .map(|r| {
            let form: std::collections::HashMap<String, String> =
                serde_urlencoded::from_bytes(&r.body).unwrap();
            form["msisdn"].clone()
        })
        .collect()
}

#[tokio::test]
async fn two_provisioning_requests_at_once_rent_once() {
    let stand_in = slow_seller().await;
    let deps = deps(fresh_store().await, &stand_in.uri());
    let body = json!({"country": "GB", "count": 1});
    let (first, second) = tokio::join!(
        call(&deps, "POST", "/numbers/provision", Some(body.clone())),
        call(&deps, "POST", "/numbers/provision", Some(body.clone())),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{first:?} {second:?}");
    let refused = if first.0 == 409 { &first.1 } else { &second.1 };
    assert_eq!(refused["code"], "conflict", "{refused}");
    assert_eq!(bought(&stand_in).await.len(), 1);
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 1);
    assert!(deps.store.list_pending().await.unwrap().is_empty());

    // The lease was given back: the next request rents the other number.
    let (status, next) = call(&deps, "POST", "/numbers/provision", Some(body)).await;
    assert_eq!(status, 201, "{next}");
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 2);
}

/// Two renters outside the lease (a creation renting on the fly, and a provisioning request)
/// never buy the same number, and neither touches the other's pending record.
#[tokio::test]
async fn renters_never_buy_the_same_number() {
    let stand_in = slow_seller().await;
    let store = fresh_store().await;
    let vonage = client(&stand_in.uri());
    let provisioner = Provisioner {
        store: &store,
        vonage: &vonage,
        application_id: APP,
    };
    let request = ProvisionRequest {
        query: NumberQuery {
            country: "GB".parse().unwrap(),
            features: None,
            number_type: None,
            starts_with: None,
            size: 0,
        },
        count: 1,
    };
    let now = shared::now();
    let (a, b) = tokio::join!(
        provisioner.provision(&request, now),
        provisioner.provision(&request, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.added.len() + b.added.len(), 2, "{a:?} {b:?}");
    let mut numbers = bought(&stand_in).await;
    numbers.sort();
    assert_eq!(numbers, ["447700900401", "447700900402"]);
    assert_eq!(store.list_pool().await.unwrap().len(), 2);
    assert!(store.list_pending().await.unwrap().is_empty());
}
