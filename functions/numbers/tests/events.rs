//! The numbers events in `events/`, played against the real local store.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use lambda_http::Body;
use numbers::{Deps, handle};
use shared::testing::{fresh_store, mock_config, vonage_mock};
use shared::vonage::VonageClient;

fn load(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_numbers_events_play_as_named() {
    let vonage = vonage_mock().await;
    let deps = Deps {
        store: fresh_store().await,
        vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
        application_id: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into(),
    };
    assert_eq!(handle(&deps, load("numbers-add.json")).await.status(), 201);
    let listed = handle(&deps, load("numbers-list.json")).await;
    assert_eq!(listed.status(), 200);
    let Body::Text(text) = listed.body() else {
        panic!("no body")
    };
    assert!(text.contains("447700900101"));
}
