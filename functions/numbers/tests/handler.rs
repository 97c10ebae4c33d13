//! The numbers API on the in-memory store and Vonage: no server needed. The same paths against
//! the real local DynamoDB-API server and the Vonage specs are in `api.rs` and `provision.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use numbers::{Deps, PROVISION_LEASE};
use serde_json::json;
use shared::model::NumberState;
use shared::ports::Leases;
use shared::vonage::NumberOffer;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::call;

const APP: &str = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";

fn app() -> Deps<MemoryStore, FakeVonage> {
    Deps {
        store: MemoryStore::default(),
        vonage: FakeVonage::default(),
        application_id: APP.into(),
    }
}

fn offer(msisdn: &str) -> NumberOffer {
    NumberOffer {
        country: "GB".parse().unwrap(),
        msisdn: msisdn.into(),
        number_type: Some("mobile-lvn".into()),
        features: vec!["VOICE".into(), "SMS".into()],
        ..NumberOffer::default()
    }
}

#[tokio::test]
async fn add_list_retire_and_release() {
    let deps = app();
    deps.vonage.own(offer("447700900101"));
    let (status, added) = call(
        &deps,
        "POST",
        "/numbers",
        Some(json!({"msisdn": "+44 7700 900101"})),
    )
    .await;
    assert_eq!((status, &added["country"]), (201, &json!("GB")), "{added}");
    assert_eq!(deps.vonage.linked()["447700900101"], APP);

    let (status, problem) = call(
        &deps,
        "POST",
        "/numbers",
        Some(json!({"msisdn": "447700900101"})),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("duplicate_number"))
    );

    let (status, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(status, 200);
    assert_eq!(pool["summary"]["max_concurrent_per_participant"], 1);

    let (status, retired) = call(&deps, "DELETE", "/numbers/447700900101", None).await;
    assert_eq!((status, &retired["state"]), (200, &json!("retired")));
    assert_eq!(
        deps.store.number_now("447700900101").unwrap().state,
        NumberState::Retired
    );
    let (status, released) =
        call(&deps, "DELETE", "/numbers/447700900101?release=true", None).await;
    assert_eq!(
        (status, &released["released"]),
        (200, &json!(true)),
        "{released}"
    );
    assert_eq!(deps.vonage.cancelled(), ["447700900101"]);
    assert!(deps.store.number_now("447700900101").is_none());

    let (status, problem) = call(&deps, "DELETE", "/numbers/447700900101", None).await;
    assert_eq!((status, &problem["code"]), (404, &json!("not_found")));
}

#[tokio::test]
async fn a_link_that_fails_adds_nothing() {
    let deps = app();
    deps.vonage.fail("link", true);
    let (status, problem) = call(
        &deps,
        "POST",
        "/numbers",
        Some(json!({"msisdn": "447700900101"})),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (503, &json!("vonage_unavailable"))
    );
    assert!(deps.store.number_now("447700900101").is_none());
}

#[tokio::test]
async fn provisioning_rents_links_and_adds() {
    let deps = app();
    deps.vonage.offer([
        offer("447700900101"),
        offer("447700900102"),
        offer("447700900103"),
    ]);
    let (status, report) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 2})),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["added"].as_array().unwrap().len(), 2);
    for n in ["447700900101", "447700900102"] {
        assert_eq!(deps.store.number_now(n).unwrap().state, NumberState::Active);
        assert_eq!(deps.vonage.linked()[n], APP);
    }
    assert!(deps.store.pending_now().is_empty());
    assert!(!deps.store.lease_held(PROVISION_LEASE));
}

#[tokio::test]
async fn a_bought_number_that_cannot_be_linked_is_finished_later() {
    let deps = app();
    deps.vonage.offer([offer("447700900101")]);
    deps.vonage.fail("link", true);
    let (status, report) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB"})),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["failed"][0]["step"], "link");
    assert_eq!(report["failed"][0]["pending"], true);
    assert_eq!(deps.store.pending_now().len(), 1);

    deps.vonage.fail("link", false);
    let (status, report) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 1})),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["recovered"][0]["msisdn"], "447700900101");
    assert!(deps.store.pending_now().is_empty());
}

#[tokio::test]
async fn one_provisioning_request_at_a_time() {
    let deps = app();
    assert!(
        deps.store
            .acquire_lease(PROVISION_LEASE, "another request", shared::now(), 60)
            .await
            .unwrap()
    );
    let (status, problem) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB"})),
    )
    .await;
    assert_eq!((status, &problem["code"]), (409, &json!("conflict")));
    assert!(
        deps.vonage.requests().is_empty(),
        "nothing was searched or bought"
    );
}

#[tokio::test]
async fn bad_input_gets_a_problem() {
    let deps = app();
    for (method, path, body, code) in [
        (
            "POST",
            "/numbers",
            json!({"msisdn": "12"}),
            "invalid_number",
        ),
        (
            "POST",
            "/numbers",
            json!({"msisdn": "447700900101", "state": "retired"}),
            "invalid_request",
        ),
        (
            "POST",
            "/numbers/provision",
            json!({"country": "gb"}),
            "invalid_request",
        ),
        (
            "POST",
            "/numbers/provision",
            json!({"country": "GB", "count": 11}),
            "invalid_request",
        ),
        (
            "POST",
            "/numbers/provision",
            json!({"country": "GB", "type": "fax"}),
            "invalid_request",
        ),
    ] {
        let (status, problem) = call(&deps, method, path, Some(body)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some(code)),
            "{path}"
        );
    }
    assert!(deps.vonage.requests().is_empty());
}

#[tokio::test]
async fn the_pool_shows_each_numbers_health_and_an_operator_clears_a_flag() {
    use shared::model::{CountedCall, HealthFlag, Tally};
    use shared::phone::Msisdn;
    use shared::ports::NumberHealth;
    let deps = app();
    for n in ["447700900101", "447700900102"] {
        deps.vonage.own(offer(n));
        let (status, _) = call(&deps, "POST", "/numbers", Some(json!({"msisdn": n}))).await;
        assert_eq!(status, 201);
    }
    let labelled = Msisdn::from_digits("447700900101").unwrap();
    let today = shared::domain::health::window(shared::now()).1;
    for i in 0..8 {
        let counted = CountedCall {
            shown_number: labelled.clone(),
            call_id: format!("c{i}"),
            leg: format!("l{i}"),
            day: today,
            answered: i < 2,
        };
        assert!(deps.store.count_call(&counted).await.unwrap());
    }
    let at = 1_795_546_800;
    let flag = HealthFlag {
        at,
        number: Tally {
            answered: 2,
            calls: 8,
        },
        rest: Tally {
            answered: 650,
            calls: 1_000,
        },
    };
    assert!(deps.store.flag_number(&labelled, &flag).await.unwrap());

    let (status, pool) = call(&deps, "GET", "/numbers", None).await;
    assert_eq!(status, 200, "{pool}");
    let health = |pool: &serde_json::Value, n: &str| {
        pool["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["msisdn"] == n)
            .unwrap()["health"]
            .clone()
    };
    assert_eq!(
        health(&pool, "447700900101"),
        json!({"answered": 2, "calls": 8, "rate": 0.25, "flagged_at": shared::rfc3339(at)})
    );
    assert_eq!(
        health(&pool, "447700900102"),
        json!({"answered": 0, "calls": 0, "rate": null, "flagged_at": null})
    );

    let (status, cleared) = call(&deps, "POST", "/numbers/447700900101/health/clear", None).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["health"]["flagged_at"], json!(null));
    assert_eq!(cleared["health"]["calls"], 8);
    let stored = deps.store.number_now("447700900101").unwrap();
    assert_eq!(
        stored.health_cleared.map(|c| c.reason),
        Some(shared::model::ClearReason::Cleared)
    );
    // Clearing again changes nothing; a number not in the pool is not found.
    let (status, _) = call(&deps, "POST", "/numbers/447700900101/health/clear", None).await;
    assert_eq!(status, 200);
    let (status, problem) = call(&deps, "POST", "/numbers/447700900199/health/clear", None).await;
    assert_eq!((status, &problem["code"]), (404, &json!("not_found")));
    let (status, _) = call(&deps, "GET", "/numbers/447700900101/health/clear", None).await;
    assert_eq!(status, 405);
}

/// Each number added, by hand or rented, is checked once for its area, which `GET /numbers`
/// shows and creation matches participants to; a check that cannot answer adds it without one.
#[tokio::test]
async fn a_number_added_keeps_its_area_from_the_number_check() {
    use shared::model::NumberFacts;
    use shared::vonage::Insight;
    let deps = app();
    let located = |number: &str, area: &str| Insight::Valid {
        international: shared::phone::Msisdn::from_digits(number).unwrap(),
        country: "GB".parse().unwrap(),
        facts: NumberFacts {
            location: Some(area.into()),
            ..NumberFacts::default()
        },
    };
    deps.vonage.own(offer("447700900101"));
    deps.vonage
        .insight("447700900101", located("447700900101", "London"));
    deps.vonage.offer([offer("447700900102")]);
    deps.vonage
        .insight("447700900102", located("447700900102", "Manchester"));
    let (status, added) = call(
        &deps,
        "POST",
        "/numbers",
        Some(json!({"msisdn": "447700900101"})),
    )
    .await;
    assert_eq!((status, &added["area"]), (201, &json!("London")), "{added}");
    let (status, _) = call(
        &deps,
        "POST",
        "/numbers/provision",
        Some(json!({"country": "GB", "count": 1})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        deps.store
            .number_now("447700900102")
            .unwrap()
            .location
            .as_deref(),
        Some("Manchester")
    );

    deps.vonage.own(offer("447700900103"));
    deps.vonage.fail("insight", true);
    let (status, added) = call(
        &deps,
        "POST",
        "/numbers",
        Some(json!({"msisdn": "447700900103"})),
    )
    .await;
    assert_eq!(status, 201, "added all the same");
    assert!(added.get("area").is_none(), "{added}");
    let (_, pool) = call(&deps, "GET", "/numbers", None).await;
    let areas: Vec<&serde_json::Value> = pool["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["area"])
        .collect();
    assert!(areas.contains(&&json!("London")) && areas.contains(&&json!("Manchester")));
}
