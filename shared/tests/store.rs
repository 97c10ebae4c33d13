//! The table against the local DynamoDB-API server (started by scripts/test): what the
//! template defines is what the store is created with. What the store does is held by the
//! contract suite (`contract.rs`), on this server and on the in-memory store alike.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use testkit::{fresh_store, template_path};

#[tokio::test]
async fn the_table_matches_the_template() {
    let store = fresh_store().await;
    let spec = shared::table::spec_from_template(&template_path()).unwrap();
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name().map(str::to_owned))
        .collect();
    indexes.sort();
    let mut expected: Vec<String> = spec
        .global_secondary_indexes
        .iter()
        .map(|g| g.index_name.clone())
        .collect();
    expected.sort();
    assert_eq!(indexes, expected);
    assert_eq!(expected, ["collection", "expiry", "participant"]);
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("ttl")
    );
}
