//! A flagged number's replacement on the in-memory store and Vonage: one number rented in its
//! country once however often `number.flagged` comes, nothing rented with auto-rent or
//! quarantine off or at the country's ceiling, and a purchase that fails left pending and
//! tried again.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use replace::{BusEvent, Deps, Outcome, handle};
use shared::config::AutoRent;
use shared::model::{HealthCleared, HealthFlag, Replacing, Tally};
use shared::phone::Msisdn;
use shared::ports::{NumberHealth, Pool};
use shared::vonage::NumberOffer;
use testkit::fakes::{FakeVonage, MemoryStore};

const FLAGGED: &str = "447700900101";
const P2: &str = "447700900102";
const R1: &str = "447700900201";
const R2: &str = "447700900202";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn auto_rent(max_per_country: usize) -> Option<AutoRent> {
    Some(AutoRent {
        max_per_country,
        features: "SMS,VOICE",
        number_type: None,
    })
}

fn deps(store: MemoryStore, auto_rent: Option<AutoRent>) -> Deps<MemoryStore, FakeVonage> {
    let vonage = FakeVonage::default();
    vonage.offer([R1, R2].map(|msisdn| NumberOffer {
        country: "GB".into(),
        msisdn: msisdn.into(),
        number_type: Some("mobile-lvn".into()),
        features: vec!["VOICE".into(), "SMS".into()],
        ..NumberOffer::default()
    }));
    Deps {
        store,
        vonage,
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        auto_rent,
        quarantine_flagged: true,
    }
}

/// The event as the bus's rule hands it over (`events/replace-number-flagged.json`, which
/// names [`FLAGGED`]).
fn flagged_event() -> BusEvent {
    let path = format!(
        "{}/../../events/replace-number-flagged.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn flag(store: &MemoryStore, number: &str, at: i64) {
    let flag = HealthFlag {
        at,
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

fn bought(deps: &Deps<MemoryStore, FakeVonage>) -> usize {
    deps.vonage
        .requests()
        .iter()
        .filter(|r| **r == "buy")
        .count()
}

#[tokio::test]
async fn a_flagged_number_is_replaced_once_in_its_country() {
    let deps = deps(MemoryStore::with_pool(&[FLAGGED, P2], "GB"), auto_rent(5));
    flag(&deps.store, FLAGGED, 100).await;

    let outcome = handle(&deps, flagged_event()).await.unwrap();
    assert_eq!(outcome, Outcome::Rented { msisdn: R1.into() });
    let rented = deps.store.number_now(R1).unwrap();
    assert_eq!(rented.country.to_string(), "GB");
    assert_eq!(
        rented.replaces,
        Some(Replacing {
            number: m(FLAGGED),
            flagged_at: 100
        })
    );
    assert_eq!(deps.vonage.linked().len(), 1);

    // Delivered again: its replacement is found, nothing more is rented.
    let again = handle(&deps, flagged_event()).await.unwrap();
    assert!(
        matches!(&again, Outcome::Unneeded { reason } if reason.contains("already replaced")),
        "{again:?}"
    );
    assert_eq!(bought(&deps), 1);
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 3);

    // Cleared, then flagged again: that flag is replaced in its turn.
    let cleared = HealthCleared {
        at: 200,
        reason: shared::model::ClearReason::Cleared,
    };
    assert!(deps.store.clear_flag(&m(FLAGGED), &cleared).await.unwrap());
    flag(&deps.store, FLAGGED, 300).await;
    let outcome = handle(&deps, flagged_event()).await.unwrap();
    assert_eq!(outcome, Outcome::Rented { msisdn: R2.into() });
    assert_eq!(bought(&deps), 2);
}

#[tokio::test]
async fn nothing_is_rented_with_auto_rent_or_quarantine_off() {
    let off = deps(MemoryStore::with_pool(&[FLAGGED], "GB"), None);
    flag(&off.store, FLAGGED, 100).await;
    let outcome = handle(&off, flagged_event()).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Unneeded { reason } if reason.contains("AUTO_RENT")),
        "{outcome:?}"
    );
    assert!(off.vonage.requests().is_empty());

    let mut kept = deps(MemoryStore::with_pool(&[FLAGGED], "GB"), auto_rent(5));
    kept.quarantine_flagged = false;
    flag(&kept.store, FLAGGED, 100).await;
    let outcome = handle(&kept, flagged_event()).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Unneeded { reason } if reason.contains("QUARANTINE_FLAGGED")),
        "{outcome:?}"
    );
    assert!(kept.vonage.requests().is_empty());
    assert_eq!(kept.store.list_pool().await.unwrap().len(), 1);
}

#[tokio::test]
async fn nothing_is_rented_at_the_ceiling_or_for_a_number_no_longer_flagged() {
    // Two in service besides the flagged one, and a ceiling of two.
    let deps = deps(
        MemoryStore::with_pool(&[FLAGGED, P2, "447700900103"], "GB"),
        auto_rent(2),
    );
    flag(&deps.store, FLAGGED, 100).await;
    let outcome = handle(&deps, flagged_event()).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Unneeded { reason } if reason.contains("ceiling of 2")),
        "{outcome:?}"
    );

    // Not flagged (it recovered before the event came): nothing to replace.
    let recovered = self::deps(MemoryStore::with_pool(&[FLAGGED], "GB"), auto_rent(5));
    let outcome = handle(&recovered, flagged_event()).await.unwrap();
    assert!(
        matches!(&outcome, Outcome::Unneeded { reason } if reason.contains("no longer flagged")),
        "{outcome:?}"
    );
    assert!(deps.vonage.requests().is_empty());
    assert!(recovered.vonage.requests().is_empty());
}

#[tokio::test]
async fn a_purchase_that_fails_is_an_error_and_leaves_no_pool_item() {
    let deps = deps(MemoryStore::with_pool(&[FLAGGED], "GB"), auto_rent(5));
    flag(&deps.store, FLAGGED, 100).await;
    // Vonage refuses the search: nothing bought, nothing recorded, tried again later.
    deps.vonage.fail("search", true);
    let e = handle(&deps, flagged_event()).await.unwrap_err();
    assert!(e.to_string().contains("no number rented for GB"), "{e}");
    assert!(deps.store.list_pending().await.unwrap().is_empty());
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 1);

    // The purchase has no clear answer: the number stays pending, named as the replacement,
    // and is not in the pool; the event delivered again buys nothing more while it settles.
    deps.vonage.fail("search", false);
    deps.vonage.fail("buy", true);
    let e = handle(&deps, flagged_event()).await.unwrap_err();
    assert!(e.to_string().contains("no number rented"), "{e}");
    let pending = deps.store.list_pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].replaces.as_ref().unwrap().number, m(FLAGGED));
    assert_eq!(deps.store.list_pool().await.unwrap().len(), 1);
    let buys = bought(&deps);
    deps.vonage.fail("buy", false);
    let e = handle(&deps, flagged_event()).await.unwrap_err();
    assert!(e.to_string().contains("still pending"), "{e}");
    assert_eq!(bought(&deps), buys);
}

#[tokio::test]
async fn an_event_of_another_kind_is_passed_over() {
    let deps = deps(MemoryStore::with_pool(&[FLAGGED], "GB"), auto_rent(5));
    flag(&deps.store, FLAGGED, 100).await;
    let mut event = flagged_event();
    event.detail_type = "number.cleared".into();
    let outcome = handle(&deps, event).await.unwrap();
    assert!(matches!(outcome, Outcome::Unneeded { .. }), "{outcome:?}");
    assert!(deps.vonage.requests().is_empty());
}
