//! The pool's records against the local DynamoDB-API server: cool-off of freed pairs, numbers
//! on their way in, retiring and removing, and leases.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::model::{CloseReason, NumberState, PendingNumber, PendingStage, PoolNumber};
use shared::model::{CreateConflict, RemoveOutcome, WriteError};
use shared::phone::Msisdn;
use shared::values::{Feature, NumberType};
use testkit::{add_pool, all_items, conversation, fresh_store};

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

const A: &str = "447700900001";
const B: &str = "447700900002";
const C: &str = "447700900003";
const P1: &str = "447700900101";
const P2: &str = "447700900102";

#[tokio::test]
async fn a_freed_pair_cools_off_except_for_the_same_counterpart() {
    let store = fresh_store().await;
    add_pool(&store, &[P1, P2], "GB").await;
    store
        .create_conversation(&conversation("c1", (A, P1), (B, P2), 1_000, 5_000))
        .await
        .unwrap();
    store
        .close_conversation(
            &"c1".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, 2_000, 90_000),
        )
        .await
        .unwrap();

    let held = store.holdings(&m(A)).await.unwrap();
    assert!(held.held.is_empty());
    assert_eq!(held.previous_with(&m(B)), Some(&m(P1)));
    assert_eq!(held.excluded(&m(C), 2_100), [m(P1)].into());
    assert!(held.excluded(&m(B), 2_100).is_empty(), "same counterpart");
    assert!(held.excluded(&m(C), 2_600).is_empty(), "cool-off over");

    // A with someone else on P1 during the cool-off: refused by the store itself.
    let mut early = conversation("c2", (A, P1), (C, P2), 2_100, 9_000);
    early.created_at = 2_100;
    let err = store.create_conversation(&early).await.unwrap_err();
    assert!(
        matches!(err, WriteError::Conflict(CreateConflict::CoolingOff(0))),
        "{err:?}"
    );
    // With the same counterpart, at once.
    let mut again = conversation("c3", (A, P1), (B, P2), 2_100, 9_000);
    again.created_at = 2_100;
    store.create_conversation(&again).await.unwrap();
    store
        .close_conversation(
            &"c3".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, 2_200, 90_000),
        )
        .await
        .unwrap();
    // With someone else once the cool-off has passed.
    let mut later = conversation("c4", (A, P1), (C, P2), 2_800, 9_000);
    later.created_at = 2_800;
    store.create_conversation(&later).await.unwrap();
}

#[tokio::test]
async fn a_pending_number_becomes_a_pool_number_once() {
    let store = fresh_store().await;
    let pending = PendingNumber {
        msisdn: m(P1),
        country: "GB".parse().unwrap(),
        stage: PendingStage::Buying,
        features: vec![Feature::Voice, Feature::Sms],
        number_type: Some(NumberType::MobileLvn),
        since: 10,
        last_error: None,
    };
    store.put_pending(&pending).await.unwrap();
    let bought = PendingNumber {
        stage: PendingStage::Bought,
        ..pending
    };
    store.put_pending(&bought).await.unwrap();
    assert_eq!(store.list_pending().await.unwrap(), vec![bought.clone()]);
    assert!(
        store.list_pool().await.unwrap().is_empty(),
        "not assignable yet"
    );

    let number = PoolNumber::new(m(P1), "GB".parse().unwrap(), NumberState::Active, 20);
    assert!(store.complete_pending(&number).await.unwrap());
    assert!(store.list_pending().await.unwrap().is_empty());
    assert_eq!(store.list_pool().await.unwrap(), vec![number.clone()]);

    // Finishing it twice leaves one pool number and no pending record.
    store.put_pending(&bought).await.unwrap();
    assert!(!store.complete_pending(&number).await.unwrap());
    assert!(store.list_pending().await.unwrap().is_empty());
    assert_eq!(all_items(&store).await.len(), 1);
}

#[tokio::test]
async fn a_number_in_use_is_retired_but_not_removed() {
    let store = fresh_store().await;
    add_pool(&store, &[P1, P2], "GB").await;
    store
        .create_conversation(&conversation("c1", (A, P1), (B, P1), 1_000, i64::MAX / 2))
        .await
        .unwrap();
    let retired = store.retire_number(&m(P1)).await.unwrap().unwrap();
    assert_eq!(
        (retired.state, retired.active_count),
        (NumberState::Retired, 2)
    );
    assert_eq!(
        store.remove_number(&m(P1)).await.unwrap(),
        RemoveOutcome::InUse(2)
    );
    assert_eq!(store.retire_number(&m("447700900199")).await.unwrap(), None);
    assert_eq!(
        store.remove_number(&m("447700900199")).await.unwrap(),
        RemoveOutcome::NotFound
    );
    // An active number is not removed without being retired first.
    assert_eq!(
        store.remove_number(&m(P2)).await.unwrap(),
        RemoveOutcome::InUse(0)
    );

    store
        .close_conversation(
            &"c1".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, 2_000, 9_000),
        )
        .await
        .unwrap();
    let RemoveOutcome::Removed(gone) = store.remove_number(&m(P1)).await.unwrap() else {
        panic!("removable once unused")
    };
    assert_eq!(gone.msisdn, m(P1));
    assert!(store.get_number(&m(P1)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_lapses() {
    let store = fresh_store().await;
    assert!(store.acquire_lease("rent-GB", "x", 100, 60).await.unwrap());
    assert!(!store.acquire_lease("rent-GB", "y", 120, 60).await.unwrap());
    assert!(store.acquire_lease("rent-US", "y", 120, 60).await.unwrap());
    store.release_lease("rent-GB", "y").await.unwrap();
    assert!(
        !store.acquire_lease("rent-GB", "y", 130, 60).await.unwrap(),
        "only the holder releases"
    );
    assert!(
        store.acquire_lease("rent-GB", "y", 161, 60).await.unwrap(),
        "lapsed"
    );
    store.release_lease("rent-GB", "y").await.unwrap();
    assert!(store.acquire_lease("rent-GB", "z", 162, 60).await.unwrap());
}
