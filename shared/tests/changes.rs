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
