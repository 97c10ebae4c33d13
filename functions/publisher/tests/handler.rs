//! The publisher on a bus in memory: the stream batch in `events/` publishes exactly the
//! catalogue's events, valid and without real numbers; a redelivered batch publishes the same
//! event ids; what the bus does not take is reported for the stream to retry, and nothing else.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Mutex;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use publisher::{Bus, BusError, Deps, handle};
use shared::domain::events::Event;

/// Takes every event except those whose detail-type is in `refuse`; fails whole calls while
/// `down`.
#[derive(Default)]
struct MemoryBus {
    taken: Mutex<Vec<Event>>,
    refuse: Mutex<Vec<&'static str>>,
    down: Mutex<bool>,
    calls: Mutex<usize>,
}

impl Bus for MemoryBus {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, BusError> {
        *self.calls.lock().unwrap() += 1;
        assert!(events.len() <= publisher::PUT_EVENTS_MAX);
        if *self.down.lock().unwrap() {
            return Err(BusError("the bus is down".into()));
        }
        let refuse = self.refuse.lock().unwrap().clone();
        Ok(events
            .iter()
            .map(|e| {
                let ok = !refuse.contains(&e.detail_type);
                if ok {
                    self.taken.lock().unwrap().push(e.clone());
                }
                ok
            })
            .collect())
    }
}

fn batch() -> StreamEvent {
    testkit::stream_file("publisher-stream.json")
}

fn deps() -> Deps<MemoryBus> {
    Deps {
        bus: MemoryBus::default(),
    }
}

const REAL: [&str; 2] = ["447700900001", "447700900002"];

#[tokio::test]
async fn the_stream_batch_publishes_the_catalogue_events() {
    let deps = deps();
    let (response, report) = handle(&deps, batch()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((report.records, report.published, report.failed), (4, 3, 0));
    let taken = deps.bus.taken.lock().unwrap().clone();
    let types: Vec<&str> = taken.iter().map(|e| e.detail_type).collect();
    assert_eq!(
        types,
        ["conversation.created", "call.answered", "number.retired"]
    );
    for event in &taken {
        testkit::assert_event(event, &REAL);
    }
    assert_eq!(taken[0].detail["reference"], "ride-42");
    assert_eq!(
        *deps.bus.calls.lock().unwrap(),
        1,
        "one PutEvents for three events"
    );
}

#[tokio::test]
async fn a_redelivered_batch_publishes_the_same_event_ids() {
    let deps = deps();
    handle(&deps, batch()).await;
    handle(&deps, batch()).await;
    let taken = deps.bus.taken.lock().unwrap().clone();
    let ids: Vec<&str> = taken.iter().map(Event::event_id).collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids[..3], ids[3..]);
}

#[tokio::test]
async fn what_the_bus_refuses_is_retried_and_nothing_is_lost() {
    let deps = deps();
    deps.bus.refuse.lock().unwrap().push("call.answered");
    let (response, report) = handle(&deps, batch()).await;
    assert_eq!(report.failed, 1);
    let failed: Vec<Option<String>> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [Some("000000000000000001003".to_owned())]);

    // The stream retries from the failed record on; the bus takes it now.
    deps.bus.refuse.lock().unwrap().clear();
    let mut retry = batch();
    retry.records.drain(..2);
    let (response, _) = handle(&deps, retry).await;
    assert!(response.batch_item_failures.is_empty());
    let types: Vec<&str> = deps
        .bus
        .taken
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.detail_type)
        .collect();
    assert!(types.contains(&"call.answered"));
}

#[tokio::test]
async fn a_bus_that_is_down_fails_every_record_with_events() {
    let deps = deps();
    *deps.bus.down.lock().unwrap() = true;
    let (response, report) = handle(&deps, batch()).await;
    assert_eq!(report.published, 0);
    // The route record means no event, so it has nothing to retry.
    assert_eq!(response.batch_item_failures.len(), 3);
}

#[tokio::test]
async fn an_unreadable_record_is_reported_not_skipped() {
    let deps = deps();
    let mut bad = batch();
    bad.records[0].change.new_image.insert(
        "status".into(),
        serde_dynamo::AttributeValue::S("lost".into()),
    );
    let (response, report) = handle(&deps, bad).await;
    assert_eq!(report.failed, 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("000000000000000001001")
    );
}
