//! Number health's quarantine at creation (`QUARANTINE_FLAGGED`, on by default), on the
//! in-memory store and Vonage: a flagged number is skipped while others are free, the
//! conversations that hold it keep it, it comes back once cleared, and with auto-rent its
//! place in the pool is rented again.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use conversations::Deps;
use serde_json::json;
use shared::config::ConversationConfig;
use shared::domain::health;
use shared::model::{HealthFlag, Tally};
use shared::phone::Msisdn;
use shared::ports::{NumberHealth, RouteReader};
use shared::vonage::NumberOffer;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::call;

const A: &str = "447700900001";
const B: &str = "447700900002";
const E: &str = "447700900005";
const P1: &str = "447700900101";
const P2: &str = "447700900102";
const P3: &str = "447700900103";

fn app(store: MemoryStore, settings: &[(&str, &str)]) -> Deps<MemoryStore, FakeVonage> {
    let settings: std::collections::HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Deps {
        store,
        vonage: FakeVonage::default(),
        conversations: ConversationConfig::from_source(&move |k: &str| settings.get(k).cloned())
            .unwrap(),
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        calls: None,
    }
}

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

async fn flag(store: &MemoryStore, number: &str) {
    let flag = HealthFlag {
        at: shared::now(),
        number: Tally {
            answered: 3,
            calls: 40,
        },
        rest: Tally {
            answered: 650,
            calls: 1_000,
        },
    };
    assert!(store.flag_number(&m(number), &flag).await.unwrap());
}

fn between(a: &str, b: &str) -> serde_json::Value {
    json!({"participants": [{"number": a}, {"number": b}]})
}

fn proxies(created: &serde_json::Value) -> Vec<String> {
    created["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["proxy_number"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_flagged_number_is_skipped_kept_by_its_conversations_and_back_once_cleared() {
    let deps = app(MemoryStore::with_pool(&[P1, P2, P3], "GB"), &[]);
    let (status, held) = call(&deps, "POST", "/conversations", Some(between(A, B))).await;
    assert_eq!(status, 201, "{held}");
    let labelled = proxies(&held)[0].clone();
    flag(&deps.store, &labelled).await;

    // New conversations never get it while other numbers are free.
    for i in 0..6 {
        let (a, b) = (format!("4477009011{i:02}"), format!("4477009012{i:02}"));
        let (status, created) = call(&deps, "POST", "/conversations", Some(between(&a, &b))).await;
        assert_eq!(status, 201, "{created}");
        assert!(!proxies(&created).contains(&labelled), "{created}");
    }
    // The conversation that held it keeps it: its route still connects.
    let id = held["id"].as_str().unwrap();
    let (status, read) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!((status, &read["status"]), (200, &json!("active")));
    assert_eq!(proxies(&read)[0], labelled);
    let route = deps.store.route(&m(&labelled), &m(A)).await.unwrap();
    assert_eq!(route.unwrap().conversation_id.as_str(), id);

    // A participant who holds both other numbers finds none while it is flagged...
    let others: Vec<&str> = [P1, P2, P3]
        .into_iter()
        .filter(|n| *n != labelled)
        .collect();
    for i in 0..2 {
        let (status, created) = call(
            &deps,
            "POST",
            "/conversations",
            Some(between(E, &format!("4477009013{i:02}"))),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert!(others.contains(&proxies(&created)[0].as_str()), "{created}");
    }
    let third = between(E, "447700901399");
    let (status, problem) = call(&deps, "POST", "/conversations", Some(third.clone())).await;
    assert_eq!((status, &problem["code"]), (409, &json!("pool_exhausted")));

    // ...and gets it once an operator clears it.
    let cleared = health::clear(&deps.store, &m(&labelled), shared::now())
        .await
        .unwrap()
        .unwrap();
    assert!(cleared.health_flag.is_none());
    let (status, created) = call(&deps, "POST", "/conversations", Some(third)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(proxies(&created)[0], labelled);
}

#[tokio::test]
async fn with_quarantine_off_a_flagged_number_is_still_assigned() {
    let deps = app(
        MemoryStore::with_pool(&[P1], "GB"),
        &[("QUARANTINE_FLAGGED", "false")],
    );
    flag(&deps.store, P1).await;
    let (status, created) = call(&deps, "POST", "/conversations", Some(between(A, B))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(proxies(&created), [P1, P1]);
}

#[tokio::test]
async fn with_auto_rent_a_quarantined_numbers_place_is_rented_in_its_country() {
    let offer = |msisdn: &str| NumberOffer {
        country: "GB".parse().unwrap(),
        msisdn: msisdn.into(),
        number_type: Some("mobile-lvn".into()),
        features: vec!["VOICE".into(), "SMS".into()],
        ..NumberOffer::default()
    };
    // The pool is at its ceiling of one number in GB, and that one is flagged.
    let deps = app(
        MemoryStore::with_pool(&[P1], "GB"),
        &[("AUTO_RENT", "true"), ("AUTO_RENT_MAX_PER_COUNTRY", "1")],
    );
    flag(&deps.store, P1).await;
    deps.vonage.offer([offer(P2)]);
    let (status, created) = call(&deps, "POST", "/conversations", Some(between(A, B))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(proxies(&created), [P2, P2]);
    let rented = deps.store.number_now(P2).unwrap();
    assert_eq!(rented.country.to_string(), "GB");
    assert!(deps.store.number_now(P1).unwrap().health_flag.is_some());
}
