//! What became of each sent text, as the change stream carries it: the item's images mean each
//! delivery event once, valid against its schema. (The ledger itself, the owner and statuses in
//! any order, is in the contract suite.)
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::domain::events::derive;
use shared::model::Change;
use shared::model::{DeliveryState, TextKind, TextOwner};
use shared::ports::TextLedger;
use shared::store::read_change;
use testkit::{all_items, assert_event, fresh_store, text_owner};

use DeliveryState::{Delivered, Failed};

fn relayed() -> TextOwner {
    text_owner(TextKind::Relayed { from_index: 0 })
}

/// The `TEXT` item of `id` as the stream would carry it now.
async fn image(store: &shared::store::Store, id: &str) -> Option<serde_dynamo::Item> {
    all_items(store)
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap() == &format!("TEXT#{id}"))
        .map(serde_dynamo::Item::from)
}

/// The events a change from `old` to `new` means.
fn events(
    old: Option<serde_dynamo::Item>,
    new: Option<serde_dynamo::Item>,
) -> Vec<shared::domain::events::Event> {
    let change = read_change(old, new).unwrap().unwrap();
    assert!(matches!(change, Change::Text { .. }));
    derive(&change, "record-1", shared::now())
}

#[tokio::test]
async fn each_delivery_is_published_once_whichever_comes_first() {
    let store = fresh_store().await;
    let now = shared::now();

    // A notification: sent, then delivered.
    let notification = text_owner(TextKind::Notification {
        index: 1,
        label: Some("driver".parse().unwrap()),
    });
    store
        .note_sent("n1", &notification, now + 60)
        .await
        .unwrap();
    let sent = image(&store, "n1").await;
    assert!(
        events(None, sent.clone()).is_empty(),
        "submitted is not news"
    );
    store
        .note_status("n1", Delivered, None, None, now)
        .await
        .unwrap();
    let published = events(sent, image(&store, "n1").await);
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].detail_type,
        "participant.notification_delivered"
    );
    assert_eq!(published[0].detail["index"], 1);
    assert_event(&published[0], &[]);

    // A relayed text whose failure came before its owner: news only once both are there.
    store
        .note_status("r1", Failed, Some("rejected"), Some("1250"), now)
        .await
        .unwrap();
    let orphan = image(&store, "r1").await;
    assert!(
        events(None, orphan.clone()).is_empty(),
        "no owner, no event"
    );
    store.note_sent("r1", &relayed(), now + 60).await.unwrap();
    let owned = image(&store, "r1").await;
    let published = events(orphan, owned.clone());
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].detail_type, "message.failed");
    assert_eq!(
        (
            &published[0].detail["from_index"],
            &published[0].detail["to_index"],
            &published[0].detail["reason"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!("rejected")
        )
    );
    assert_event(&published[0], &[]);
    // The owner written again (a retried send record) is no news either.
    assert!(events(owned.clone(), owned).is_empty());

    // A relayed text delivered.
    store.note_sent("r2", &relayed(), now + 60).await.unwrap();
    let sent = image(&store, "r2").await;
    store
        .note_status("r2", Delivered, None, None, now)
        .await
        .unwrap();
    let published = events(sent, image(&store, "r2").await);
    assert_eq!(published[0].detail_type, "message.delivered");
    assert_event(&published[0], &[]);

    // A missed call's text has no event of its own.
    store
        .note_sent(
            "x1",
            &text_owner(TextKind::MissedCall { caller_index: 0 }),
            now + 60,
        )
        .await
        .unwrap();
    let sent = image(&store, "x1").await;
    store
        .note_status("x1", Delivered, None, None, now)
        .await
        .unwrap();
    assert!(events(sent, image(&store, "x1").await).is_empty());
}

#[tokio::test]
async fn sent_texts_read_back_from_the_real_change_stream() {
    let store = fresh_store().await;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut reader =
        shared::stream::local::StreamReader::open(&config, store.client(), store.table())
            .await
            .unwrap();
    let now = shared::now();
    let notification = text_owner(TextKind::Notification {
        index: 0,
        label: Some("rider".parse().unwrap()),
    });
    store
        .note_sent("s1", &notification, now + 60)
        .await
        .unwrap();
    store
        .note_status("s1", Delivered, None, None, now)
        .await
        .unwrap();
    store
        .note_status("s2", Failed, Some("rejected"), Some("1250"), now)
        .await
        .unwrap();
    let records = reader.next(100).await.unwrap();
    let changes: Vec<Change> = records
        .iter()
        .map(|r| shared::stream::change_of(r).unwrap().unwrap())
        .collect();

    let published: Vec<_> = changes
        .iter()
        .flat_map(|c| derive(c, "record", now))
        .collect();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0].detail_type,
        "participant.notification_delivered"
    );
}
