//! The health consumer on stream batches as Lambda hands them over, on the in-memory store:
//! each callee's leg counted once however often and in whatever order its records come, only
//! the legs that say answered or not counted, and a failing store handing the calls back.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use health::{Deps, handle};
use shared::domain::health::{day_of_ms, window};
use shared::model::{CallEvent, Direction, NumberState, PoolNumber, Tally};
use shared::phone::Msisdn;
use shared::ports::{NumberHealth, Pool};
use shared::store::call_event_image;
use shared::values::ConversationId;
use testkit::fakes::MemoryStore;
use testkit::{add_pool, stream_batch, stream_record};

const P1: &str = "447700900101";
const P2: &str = "447700900102";

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn event(call: &str, status: &str, direction: Direction, shown: &str) -> CallEvent {
    CallEvent {
        call_id: call.into(),
        leg: format!("{call}-{direction:?}"),
        direction: Some(direction),
        shown_number: (direction == Direction::Outbound).then(|| m(shown)),
        status: status.parse().unwrap(),
        at_ms: shared::now() * 1000,
        caller_index: 0,
        duration: None,
        rate: None,
        price: None,
        detail: None,
        routed_by: Default::default(),
        initiated_by: Default::default(),
    }
}

fn records(events: &[CallEvent]) -> Vec<aws_lambda_events::event::dynamodb::EventRecord> {
    let id = ConversationId::random();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| stream_record(i as u64, None, Some(call_event_image(&id, e, 0).unwrap())))
        .collect()
}

async fn tally(store: &MemoryStore, number: &str) -> Tally {
    let (from, to) = window(shared::now());
    store.number_tally(&m(number), from, to).await.unwrap()
}

#[tokio::test]
async fn each_callees_leg_counts_once_whatever_the_order_and_however_often() {
    let store = MemoryStore::default();
    add_pool(&store, &[P1, P2], "GB").await;
    let deps = Deps { store };
    use Direction::{Inbound, Outbound};
    let events = vec![
        // Answered, with the leg's other statuses and the caller's leg around it.
        event("a", "ringing", Outbound, P1),
        event("a", "answered", Inbound, P1),
        event("a", "answered", Outbound, P1),
        event("a", "completed", Outbound, P1),
        // Not answered, in each way that counts, and a call that never reached the phone.
        event("b", "unanswered", Outbound, P1),
        event("c", "busy", Outbound, P2),
        event("d", "cancelled", Outbound, P2),
        event("e", "failed", Outbound, P2),
        // A leg whose missed status came before its answer.
        event("f", "timeout", Outbound, P2),
        event("f", "answered", Outbound, P2),
    ];
    let batch = records(&events);
    // Out of order: the batch backwards, then as it was, then again.
    let mut backwards = batch.clone();
    backwards.reverse();
    let (response, report) = handle(&deps, stream_batch(backwards)).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(
        tally(&deps.store, P1).await,
        Tally {
            answered: 1,
            calls: 2
        }
    );
    assert_eq!(
        tally(&deps.store, P2).await,
        Tally {
            answered: 1,
            calls: 3
        }
    );
    for _ in 0..2 {
        let (response, report) = handle(&deps, stream_batch(batch.clone())).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(report.counted, 0, "{report:?}");
    }
    assert_eq!(
        tally(&deps.store, P1).await,
        Tally {
            answered: 1,
            calls: 2
        }
    );
    assert_eq!(
        tally(&deps.store, P2).await,
        Tally {
            answered: 1,
            calls: 3
        }
    );
    let (from, to) = window(shared::now());
    assert_eq!(
        deps.store.pool_tally(from, to).await.unwrap(),
        Tally {
            answered: 2,
            calls: 5
        }
    );
    assert_eq!(day_of_ms(events[0].at_ms), to);
}

#[tokio::test]
async fn a_failing_store_hands_the_calls_back_and_the_retry_counts_them_once() {
    let store = MemoryStore::default();
    add_pool(&store, &[P1], "GB").await;
    let deps = Deps { store };
    let batch = records(&[
        event("a", "answered", Direction::Outbound, P1),
        event("b", "rejected", Direction::Outbound, P1),
    ]);
    deps.store.fail(true);
    let (response, report) = handle(&deps, stream_batch(batch.clone())).await;
    assert_eq!(response.batch_item_failures.len(), 2, "{report:?}");
    deps.store.fail(false);
    let (response, report) = handle(&deps, stream_batch(batch)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.counted, 2);
    assert_eq!(
        tally(&deps.store, P1).await,
        Tally {
            answered: 1,
            calls: 2
        }
    );
}

#[tokio::test]
async fn a_number_callees_stop_answering_is_flagged_and_recovers() {
    let store = MemoryStore::default();
    let pool: Vec<String> = (0..20).map(|i| format!("4477009002{i:02}")).collect();
    let refs: Vec<&str> = pool.iter().map(String::as_str).collect();
    add_pool(&store, &refs, "GB").await;
    let deps = Deps { store };
    // 400 calls on the rest of the pool, two in three answered.
    let mut events = Vec::new();
    for i in 0..400 {
        let status = if i % 3 == 0 { "unanswered" } else { "answered" };
        events.push(event(
            &format!("h{i}"),
            status,
            Direction::Outbound,
            refs[1 + i % 19],
        ));
    }
    handle(&deps, stream_batch(records(&events))).await;
    // The labelled number: one in ten answered.
    let labelled: Vec<CallEvent> = (0..40)
        .map(|i| {
            let status = if i % 10 == 0 { "answered" } else { "busy" };
            event(&format!("l{i}"), status, Direction::Outbound, refs[0])
        })
        .collect();
    let (_, report) = handle(&deps, stream_batch(records(&labelled))).await;
    assert_eq!(report.flagged, 1, "{report:?}");
    let flagged: PoolNumber = deps.store.get_number(&m(refs[0])).await.unwrap().unwrap();
    let flag = flagged.health_flag.unwrap();
    assert_eq!(
        flag.number,
        Tally {
            answered: 4,
            calls: 40
        }
    );
    assert_eq!(flag.rest.calls, 400);
    assert_eq!(flagged.state, NumberState::Active);
    for n in &refs[1..] {
        assert!(
            deps.store
                .get_number(&m(n))
                .await
                .unwrap()
                .unwrap()
                .health_flag
                .is_none()
        );
    }
    // Callees answer it again: once it is no longer clearly below the pool, it is cleared.
    let better: Vec<CallEvent> = (0..160)
        .map(|i| {
            let status = if i % 5 == 0 { "unanswered" } else { "answered" };
            event(&format!("r{i}"), status, Direction::Outbound, refs[0])
        })
        .collect();
    let (_, report) = handle(&deps, stream_batch(records(&better))).await;
    assert_eq!(report.cleared, 1, "{report:?}");
    let cleared = deps.store.get_number(&m(refs[0])).await.unwrap().unwrap();
    assert!(cleared.health_flag.is_none());
    assert_eq!(
        cleared.health_cleared.map(|c| c.reason),
        Some(shared::model::ClearReason::Recovered)
    );
}

#[tokio::test]
async fn after_an_operator_clears_a_number_the_calls_that_flagged_it_do_not_flag_it_again() {
    let store = MemoryStore::default();
    let pool: Vec<String> = (0..20).map(|i| format!("4477009004{i:02}")).collect();
    let refs: Vec<&str> = pool.iter().map(String::as_str).collect();
    add_pool(&store, &refs, "GB").await;
    let deps = Deps { store };
    let mut events = Vec::new();
    for i in 0..400 {
        let status = if i % 3 == 0 { "unanswered" } else { "answered" };
        events.push(event(
            &format!("h{i}"),
            status,
            Direction::Outbound,
            refs[1 + i % 19],
        ));
    }
    for i in 0..40 {
        let status = if i % 10 == 0 { "answered" } else { "busy" };
        events.push(event(
            &format!("l{i}"),
            status,
            Direction::Outbound,
            refs[0],
        ));
    }
    let (_, report) = handle(&deps, stream_batch(records(&events))).await;
    assert_eq!(report.flagged, 1, "{report:?}");
    shared::domain::health::clear(&deps.store, &m(refs[0]), shared::now())
        .await
        .unwrap();
    // More calls the same day, answered no better: the test waits for days after the clear.
    let more: Vec<CallEvent> = (0..20)
        .map(|i| event(&format!("m{i}"), "busy", Direction::Outbound, refs[0]))
        .collect();
    let (_, report) = handle(&deps, stream_batch(records(&more))).await;
    assert_eq!((report.counted, report.flagged), (20, 0), "{report:?}");
    let number = deps.store.get_number(&m(refs[0])).await.unwrap().unwrap();
    assert!(number.health_flag.is_none());
    // The pool still shows every call of the window.
    assert_eq!(
        tally(&deps.store, refs[0]).await,
        Tally {
            answered: 4,
            calls: 60
        }
    );
    let (from, to) = shared::domain::health::tested_days(&number, shared::now());
    assert_eq!(from, to + 1, "no day after the clear has come yet");
}

/// The console overview's counts: each new conversation once, however often its record comes,
/// a change to one not at all, and a failing store hands the records back.
#[tokio::test]
async fn new_conversations_are_counted_into_their_day_once() {
    use shared::model::DayCounts;
    use shared::ports::DayStats;
    use shared::store::conversation_image;
    let deps = Deps {
        store: MemoryStore::default(),
    };
    let now = shared::now();
    let c = |n: usize| {
        testkit::conversation(
            &format!("c{n}"),
            ("447700900001", P1),
            ("447700900002", P2),
            now,
            now + 60,
        )
    };
    let mut closed = c(1);
    closed.status = shared::model::ConversationStatus::Closed;
    let batch = vec![
        stream_record(1, None, Some(conversation_image(&c(1)).unwrap())),
        stream_record(2, None, Some(conversation_image(&c(2)).unwrap())),
        stream_record(
            3,
            Some(conversation_image(&c(1)).unwrap()),
            Some(conversation_image(&closed).unwrap()),
        ),
    ];
    deps.store.fail(true);
    let (response, _) = handle(&deps, stream_batch(batch.clone())).await;
    assert_eq!(response.batch_item_failures.len(), 2, "the two it counts");
    deps.store.fail(false);
    let (response, report) = handle(&deps, stream_batch(batch.clone())).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.tallied, 2);
    let (_, again) = handle(&deps, stream_batch(batch)).await;
    assert_eq!(again.tallied, 0, "a redelivered batch counts nothing");
    assert_eq!(
        deps.store.day_counts(now.div_euclid(86_400)).await.unwrap(),
        DayCounts {
            conversations: 2,
            ..DayCounts::default()
        }
    );
}
