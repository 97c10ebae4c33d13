//! A flagged number's replacement against the real local DynamoDB-API server, with every
//! Numbers request checked by Prism serving `numbers.yml` (as a mock, or as a validating proxy
//! in front of a stand-in that counts what was bought).
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use replace::{BusEvent, Deps, Outcome, handle};
use serde_json::{Value, json};
use shared::config::AutoRent;
use shared::model::{HealthFlag, NumberState, PoolNumber, Tally};
use shared::phone::Msisdn;
use shared::ports::{NumberHealth, Pool};
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::{SpecProxy, fresh_store, vonage_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The number `events/replace-number-flagged.json` names, in GB.
const FLAGGED: &str = "447700900101";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn deps(store: Store, numbers_url: &str, max_per_country: Option<usize>) -> Deps {
    let config = vonage_config(
        "http://127.0.0.1:9/ni",
        "http://127.0.0.1:9/sms",
        numbers_url,
    );
    Deps {
        store,
        vonage: VonageClient::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(5)),
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        auto_rent: max_per_country.map(|max_per_country| AutoRent {
            max_per_country,
            features: "SMS,VOICE",
            number_type: None,
        }),
        quarantine_flagged: true,
    }
}

fn prism_numbers() -> String {
    std::env::var("PRISM_NUMBERS_URL")
        .expect("PRISM_NUMBERS_URL is not set: run the tests with scripts/test")
}

/// The event as the bus's rule hands it to the function.
fn flagged_event() -> BusEvent {
    let path = format!(
        "{}/../../events/replace-number-flagged.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A pool in GB of `numbers`, the first of them flagged.
async fn flagged_pool(numbers: &[&str]) -> Store {
    let store = fresh_store().await;
    for n in numbers {
        let number = PoolNumber::new(m(n), "GB".parse().unwrap(), NumberState::Active, 0);
        assert!(store.add_number(&number).await.unwrap());
    }
    let flag = HealthFlag {
        at: 100,
        number: Tally {
            answered: 3,
            calls: 40,
        },
        rest: Tally {
            answered: 650,
            calls: 1_000,
        },
    };
    assert!(store.flag_number(&m(numbers[0]), &flag).await.unwrap());
    store
}

#[tokio::test]
async fn a_flagged_number_is_replaced_in_its_country_as_the_spec_says() {
    let deps = deps(flagged_pool(&[FLAGGED]).await, &prism_numbers(), Some(5));
    let outcome = handle(&deps, flagged_event()).await.unwrap();
    // Prism answers every search with the spec's example number, in GB.
    assert_eq!(
        outcome,
        Outcome::Rented {
            msisdn: "447700900000".into()
        }
    );
    let rented = deps
        .store
        .get_number(&m("447700900000"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rented.country.to_string(), "GB");
    assert_eq!(rented.state, NumberState::Active);
    assert_eq!(rented.replaces.unwrap().number, m(FLAGGED));
    assert!(deps.store.list_pending().await.unwrap().is_empty());
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"error-code": "200", "error-code-label": "success"}))
}

fn offer(msisdn: &str) -> Value {
    json!({"country": "GB", "msisdn": msisdn, "type": "mobile-lvn", "cost": "1.25", "features": ["VOICE", "SMS"]})
}

/// A Numbers stand-in that offers two GB numbers and sells whatever is asked for.
async fn seller() -> MockServer {
    let stand_in = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2,
            "numbers": [offer("447700900201"), offer("447700900202")]
        })))
        .mount(&stand_in)
        .await;
    for p in ["/number/buy", "/number/update"] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ok())
            .mount(&stand_in)
            .await;
    }
    stand_in
}

async fn requests_to(stand_in: &MockServer, p: &str) -> usize {
    stand_in
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[tokio::test]
async fn a_number_flagged_event_delivered_again_rents_nothing_more() {
    let stand_in = seller().await;
    let proxy = SpecProxy::start("numbers.yml", &stand_in.uri());
    let deps = deps(flagged_pool(&[FLAGGED]).await, &proxy.url, Some(5));

    let first = handle(&deps, flagged_event()).await.unwrap();
    assert_eq!(
        first,
        Outcome::Rented {
            msisdn: "447700900201".into()
        }
    );
    let again = handle(&deps, flagged_event()).await.unwrap();
    assert!(matches!(again, Outcome::Unneeded { .. }), "{again:?}");
    assert_eq!(requests_to(&stand_in, "/number/buy").await, 1);
    assert_eq!(requests_to(&stand_in, "/number/update").await, 1);
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 2);
}

#[tokio::test]
async fn with_auto_rent_off_or_at_the_ceiling_nothing_is_rented() {
    let stand_in = seller().await;
    let proxy = SpecProxy::start("numbers.yml", &stand_in.uri());

    let off = deps(flagged_pool(&[FLAGGED]).await, &proxy.url, None);
    let outcome = handle(&off, flagged_event()).await.unwrap();
    assert!(matches!(outcome, Outcome::Unneeded { .. }), "{outcome:?}");
    assert_eq!(off.store.list_pool().await.unwrap().len(), 1);

    // Two numbers in service beside the flagged one, at a ceiling of two.
    let full = deps(
        flagged_pool(&[FLAGGED, "447700900102", "447700900103"]).await,
        &proxy.url,
        Some(2),
    );
    let outcome = handle(&full, flagged_event()).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Unneeded { reason } if reason.contains("ceiling")),
        "{outcome:?}"
    );
    assert_eq!(full.store.list_pool().await.unwrap().len(), 3);
    assert!(stand_in.received_requests().await.unwrap().is_empty());
}
