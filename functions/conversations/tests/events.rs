//! The conversations events in `events/`, played against the real local store.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::App;

fn load(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_conversations_events_play_as_named() {
    let app = App::new(&[("447700900101", "GB"), ("447700900102", "GB")]).await;
    let (status, created, _) = app.call(load("conversations-create.json")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["reference"], "ride-42");
    let (status, list, _) = app.call(load("conversations-list.json")).await;
    assert_eq!(status, 200);
    assert_eq!(list["conversations"][0]["id"], created["id"]);
    // The get, close, reopen and call events name a conversation this fresh table does not
    // hold.
    for file in [
        "conversations-get.json",
        "conversations-close.json",
        "conversations-reopen.json",
        "conversations-calls.json",
    ] {
        let (status, body, _) = app.call(load(file)).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (404, "not_found"),
            "{file}"
        );
    }
}
