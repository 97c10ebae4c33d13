//! The numbers events in `events/`, played against the real local store.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use lambda_http::Body;
use numbers::{Deps, handle};
use shared::vonage::VonageClient;
use testkit::{fresh_store, mock_config, vonage_mock};

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
    assert!(text(&listed).contains("447700900101"));
    // The search offers 447700900101 (in the pool now) and 447700900102.
    let provisioned = handle(&deps, load("numbers-provision.json")).await;
    assert_eq!(provisioned.status(), 201, "{}", text(&provisioned));
    assert!(text(&provisioned).contains("447700900102"));

    // Not flagged: clearing changes nothing and shows its health.
    let cleared = handle(&deps, load("numbers-health-clear.json")).await;
    assert_eq!(cleared.status(), 200, "{}", text(&cleared));
    assert!(
        text(&cleared).contains(r#""flagged_at":null"#),
        "{}",
        text(&cleared)
    );

    let retired = handle(&deps, load("numbers-retire.json")).await;
    assert_eq!(retired.status(), 200, "{}", text(&retired));
    assert!(text(&retired).contains(r#""state":"retired""#));
    let released = handle(&deps, load("numbers-release.json")).await;
    assert_eq!(released.status(), 200, "{}", text(&released));
    assert!(text(&released).contains(r#""released":true"#));
}

fn text(r: &lambda_http::Response<Body>) -> String {
    match r.body() {
        Body::Text(t) => t.clone(),
        _ => String::new(),
    }
}
