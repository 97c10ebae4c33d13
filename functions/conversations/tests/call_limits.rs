//! A conversation's call limit and the warning before it (`call.limit_seconds`,
//! `call.warn_before_seconds`): checked at creation (a warning needs a limit above it), shown
//! by `GET`, and the limit of the connect a call of the conversation gets.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use conversations::{Deps, handle};
use serde_json::{Value, json};
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::{json as request, read};

fn app() -> Deps<MemoryStore, FakeVonage, FakeVonage> {
    common::in_memory_with_calls(&["447700900101", "447700900102"])
}

async fn create(app: &Deps<MemoryStore, FakeVonage, FakeVonage>, call: Value) -> (u16, Value) {
    let body = json!({"participants": [{"number": "447700900001"}, {"number": "447700900002"}],
                      "call": call});
    read(handle(app, request("POST", "/conversations", Some(body))).await)
}

#[tokio::test]
async fn a_warning_needs_a_limit_above_it() {
    let app = app();
    for call in [
        json!({"warn_before_seconds": 60}),
        json!({"limit_seconds": 60, "warn_before_seconds": 60}),
        json!({"limit_seconds": 600, "warn_before_seconds": 0}),
        json!({"limit_seconds": 0}),
        json!({"limit_seconds": 7201}),
        json!({"limit_seconds": 600, "warn_before_seconds": -1}),
    ] {
        let (status, body) = create(&app, call.clone()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{call}"
        );
    }
    let (status, created) = create(
        &app,
        json!({"limit_seconds": 600, "warn_before_seconds": 60}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["call"]["limit_seconds"], 600);
    assert_eq!(created["call"]["warn_before_seconds"], 60);
}

#[tokio::test]
async fn the_connect_is_cut_at_the_conversations_limit() {
    let app = app();
    let (_, created) = create(
        &app,
        json!({"limit_seconds": 900, "warn_before_seconds": 60}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, _) = read(
        handle(
            &app,
            request(
                "POST",
                &format!("/conversations/{id}/calls"),
                Some(json!({"from_index": 0})),
            ),
        )
        .await,
    );
    assert_eq!(status, 202);
    let started = app
        .calls
        .as_ref()
        .unwrap()
        .voice
        .started_calls()
        .pop()
        .unwrap();
    let connect = started.ncco.as_array().unwrap().last().unwrap().clone();
    assert_eq!(connect["limit"], 900);
}
