//! The expiry sweep against the real local DynamoDB-API server.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::{CallLog, Conversations, ExpiryIndex, Pool, RouteReader};
use std::time::{Duration, Instant};

use expiry::{Deps, Notify, SweepReport, sweep};
use shared::model::{CloseReason, Conversation, ConversationStatus};
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::{fresh_store, mock_config, numbered_conversation, sent_sms, vonage_mock};

const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn deps(store: Store) -> Deps {
    Deps {
        store,
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention {
                seconds: 30 * 86_400,
            },
            cool_off_seconds: 600,
        },
        max_per_run: 100_000,
        concurrency: 8,
        safety_margin: Duration::from_millis(0),
        notify: None,
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

/// Conversation `i` between two people of its own, on the two pool numbers.
fn conversation(i: usize, expires_at: i64) -> Conversation {
    numbered_conversation(i, (PA, PB), expires_at)
}

async fn with_pool() -> Store {
    let store = fresh_store().await;
    testkit::add_pool(&store, &[PA, PB], "GB").await;
    store
}

#[tokio::test]
async fn a_sweep_closes_exactly_what_expired_and_reads_little_else() {
    const TOTAL: usize = 20_000;
    const EXPIRED: usize = 2_000;
    let store = with_pool().await;
    let now = shared::now();
    // Every tenth conversation has expired; the rest live an hour more.
    let all: Vec<Conversation> = (0..TOTAL)
        .map(|i| {
            conversation(
                i,
                if i % 10 == 0 {
                    now - 1 - i as i64
                } else {
                    now + 3600
                },
            )
        })
        .collect();
    store.load_unchecked(&all).await.unwrap();

    let report = sweep(&deps(store.clone()), now, far()).await;
    assert_eq!(report.closed, EXPIRED, "{report:?}");
    assert_eq!(
        (report.already_closed, report.failed, report.stopped_early),
        (0, 0, false)
    );
    // Index entries read: those it closed, and nothing else beyond a small constant.
    assert!(report.read as usize <= EXPIRED + 8, "{report:?}");

    for (i, c) in all.iter().enumerate().step_by(97) {
        let stored = store.conversation(&c.id).await.unwrap().unwrap();
        let [a, b] = &c.participants;
        let route = store.route(&a.proxy_number, &a.number).await.unwrap();
        if i % 10 == 0 {
            assert_eq!(stored.status, ConversationStatus::Closed);
            assert_eq!(stored.close_reason, Some(CloseReason::Expired));
            assert!(route.is_none());
            assert!(
                store
                    .route(&b.proxy_number, &b.number)
                    .await
                    .unwrap()
                    .is_none()
            );
        } else {
            assert_eq!(stored.status, ConversationStatus::Active);
            assert_eq!(
                route.unwrap().callee,
                b.number,
                "every other route still works"
            );
        }
    }
    // A second run finds nothing to do, and reads nothing.
    assert_eq!(
        sweep(&deps(store), now, far()).await,
        SweepReport::default()
    );
}

#[tokio::test]
async fn work_per_run_is_bounded_and_the_next_run_finishes() {
    let store = with_pool().await;
    let now = shared::now();
    let all: Vec<Conversation> = (0..12).map(|i| conversation(i, now - 10)).collect();
    store.load_unchecked(&all).await.unwrap();
    let mut bounded = deps(store.clone());
    bounded.max_per_run = 5;
    let first = sweep(&bounded, now, far()).await;
    assert_eq!((first.closed, first.stopped_early), (5, true));
    // Out of time: nothing is started.
    let late = sweep(&bounded, now, Instant::now()).await;
    assert_eq!((late.closed, late.read, late.stopped_early), (0, 0, true));
    let second = sweep(&bounded, now, far()).await;
    let third = sweep(&bounded, now, far()).await;
    assert_eq!(second.closed + third.closed, 7);
    assert!(!third.stopped_early);
}

#[tokio::test]
async fn expiry_and_delete_racing_close_once() {
    for round in 0..5 {
        let store = with_pool().await;
        let now = shared::now();
        let c = conversation(round, now - 5);
        store.create_conversation(&c).await.unwrap();
        let sweeper = deps(store.clone());
        let closing = testkit::closing(CloseReason::Closed, now, now + 60);
        let (report, deleted) = tokio::join!(
            sweep(&sweeper, now, far()),
            store.close_conversation(&c.id, &closing),
        );
        assert!(deleted.unwrap().is_some());
        assert!(report.failed == 0, "{report:?}");
        let stored = store.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(stored.status, ConversationStatus::Closed);
        for p in &c.participants {
            assert!(
                store
                    .route(&p.proxy_number, &p.number)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        let counts: Vec<i64> = store
            .list_pool()
            .await
            .unwrap()
            .iter()
            .map(|n| n.active_count)
            .collect();
        assert_eq!(counts, [0, 0], "counted down once, not twice");
    }
}

#[tokio::test]
async fn participants_can_be_told_the_conversation_ended() {
    let store = with_pool().await;
    let now = shared::now();
    let c = conversation(3, now - 1);
    store.create_conversation(&c).await.unwrap();
    let vonage = vonage_mock().await;
    let mut d = deps(store);
    d.notify = Some(Notify {
        vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
        template: "Your conversation has ended. This number no longer reaches your {other}.".into(),
        texts: shared::config::Texts::default(),
    });
    assert_eq!(sweep(&d, now, far()).await.closed, 1);
    let mut sms = sent_sms(&vonage).await;
    sms.sort();
    assert_eq!(sms.len(), 2);
    let [a, b] = &c.participants;
    assert_eq!(
        (sms[0].0.as_str(), sms[0].1.as_str()),
        (a.proxy_number.as_str(), a.number.as_str())
    );
    assert!(sms[0].2.ends_with("your driver."), "{}", sms[0].2);
    assert_eq!(
        (sms[1].0.as_str(), sms[1].1.as_str()),
        (b.proxy_number.as_str(), b.number.as_str())
    );
}

/// All the expiry index holds as due at `at`, over every shard.
async fn due(store: &Store, at: i64) -> Vec<shared::values::ConversationId> {
    let mut ids = Vec::new();
    for shard in 0..shared::store::EXPIRY_SHARDS {
        ids.extend(store.expired(shard, at, 100, None).await.unwrap().ids);
    }
    ids
}

/// A sliding conversation extended by a call moves its expiry-index entry with it: a sweep after
/// the old expiry closes nothing live, and one after the new expiry closes it.
#[tokio::test]
async fn sliding_expiry_moves_the_index_entry_the_sweep_follows() {
    let store = with_pool().await;
    let now = shared::now();
    let mut c = conversation(1, now + 600);
    c.expiry_mode = shared::model::ExpiryMode::Sliding;
    c.ttl_seconds = 3600;
    store.create_conversation(&c).await.unwrap();
    assert_eq!(due(&store, now + 601).await, [c.id.clone()]);

    // A call answered now: the conversation lives until now + 3600.
    store.note_activity(&c, now, true).await.unwrap();
    let moved = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(moved.expires_at, now + 3600);
    assert!(
        due(&store, now + 601).await.is_empty(),
        "the index still holds the old expiry"
    );
    assert_eq!(due(&store, now + 3600).await, [c.id.clone()]);

    // A sweep past the old expiry closes nothing, and the call still routes.
    let d = deps(store.clone());
    let report = sweep(&d, now + 601, far()).await;
    assert_eq!(report.closed, 0, "{report:?}");
    let route = store
        .route(&c.participants[0].proxy_number, &c.participants[0].number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(route.expires_at, now + 3600);
    assert_ne!(
        store.conversation(&c.id).await.unwrap().unwrap().status,
        ConversationStatus::Closed
    );

    // Past the new expiry, the sweep that follows the entry closes it.
    let report = sweep(&d, now + 3600, far()).await;
    assert_eq!(report.closed, 1, "{report:?}");
}
