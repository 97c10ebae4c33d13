//! The change stream read back from the items the store really writes (the local DynamoDB-API
//! server): a creation, a close and the pool, as the stream's images carry them.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::domain::events::derive;
use shared::model::Change;
use shared::model::CloseReason;
use shared::ports::Conversations;
use shared::store::{Store, read_change};
use testkit::{add_pool, all_items, assert_event, closing, fresh_store, numbered_conversation};

const PA: &str = "447700900101";
const PB: &str = "447700900102";

/// Every item of the table as a stream image, by sort key.
async fn images(store: &Store) -> Vec<(String, serde_dynamo::Item)> {
    all_items(store)
        .await
        .into_iter()
        .map(|i| {
            let sk = i["sk"].as_s().unwrap().clone();
            (sk, serde_dynamo::Item::from(i))
        })
        .collect()
}

#[tokio::test]
async fn the_items_the_store_writes_read_as_changes_and_events() {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    let c = numbered_conversation(3, (PA, PB), now + 3600);
    store.create_conversation(&c).await.unwrap();
    let real: Vec<&str> = c.participants.iter().map(|p| p.number.as_str()).collect();

    let before = images(&store).await;
    let mut types = Vec::new();
    for (i, (_, image)) in before.iter().enumerate() {
        if let Some(change) = read_change(None, Some(image.clone())).unwrap() {
            for event in derive(&change, &format!("r{i}"), now) {
                assert_event(&event, &real);
                types.push(event.detail_type);
            }
        }
    }
    types.sort();
    assert_eq!(
        types,
        ["conversation.created", "number.added", "number.added"],
        "routes, members and the rest mean nothing"
    );

    store
        .close_conversation(&c.id, &closing(CloseReason::Closed, now, now + 60))
        .await
        .unwrap();
    let conv = |all: &[(String, serde_dynamo::Item)]| {
        all.iter().find(|(sk, _)| sk == "CONV").unwrap().1.clone()
    };
    let after = images(&store).await;
    let change = read_change(Some(conv(&before)), Some(conv(&after)))
        .unwrap()
        .unwrap();
    assert!(matches!(change, Change::Conversation { .. }));
    let events = derive(&change, "r-close", now);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, "conversation.closed");
    assert_event(&events[0], &real);
}

/// A console reveal, as the store writes it, is `console.number_revealed` without the number;
/// the overview's own counters and records mean nothing on the bus.
#[tokio::test]
async fn a_reveal_reads_as_its_event_and_the_overviews_counts_as_none() {
    use shared::domain::overview::counter_of;
    use shared::model::{DayCounter, Reveal};
    use shared::ports::{DayStats, RevealLog};
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    let mut c = numbered_conversation(4, (PA, PB), now + 3600);
    c.reference = "ride-4".parse().ok();
    c.participants[1].label = "driver".parse().ok();
    store.create_conversation(&c).await.unwrap();
    let real: Vec<&str> = c.participants.iter().map(|p| p.number.as_str()).collect();
    let created = images(&store).await;
    let conversation = &created.iter().find(|(sk, _)| sk == "CONV").unwrap().1;
    let change = read_change(None, Some(conversation.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(counter_of(&change), Some(DayCounter::Conversations));

    store
        .record_reveal(&Reveal {
            conversation_id: c.id.clone(),
            reference: c.reference.clone(),
            index: 1,
            label: c.participants[1].label.clone(),
            by: "sam".into(),
            reason: "the rider says the driver never called".into(),
            at_ms: now * 1000,
        })
        .await
        .unwrap();
    store
        .count_once("r1", now / 86_400, DayCounter::Conversations)
        .await
        .unwrap();
    let mut events = Vec::new();
    for (i, (sk, image)) in images(&store).await.into_iter().enumerate() {
        if created.iter().any(|(before, _)| *before == sk) {
            continue;
        }
        if let Some(change) = read_change(None, Some(image)).unwrap() {
            assert_eq!(counter_of(&change), None, "{sk}");
            events.extend(derive(&change, &format!("r{i}"), now));
        }
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(&events[0], &real);
    assert_eq!(events[0].detail_type, "console.number_revealed");
    let detail = &events[0].detail;
    assert_eq!(detail["conversation_id"], c.id.as_str());
    assert_eq!(detail["reference"], "ride-4");
    assert_eq!(detail["index"], 1);
    assert_eq!(detail["label"], "driver");
    assert_eq!(detail["revealed_by"], "sam");
    assert_eq!(detail["reason"], "the rider says the driver never called");
}
