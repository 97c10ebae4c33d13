//! The numbers API against the real local DynamoDB-API server and a Vonage stand-in.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use lambda_http::{Body, Request};
use numbers::{Deps, handle};
use serde_json::json;
use shared::vonage::VonageClient;
use testkit::{all_items, fresh_store, mock_config, vonage_mock};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn app() -> (Deps, MockServer) {
    let vonage = vonage_mock().await;
    let deps = Deps {
        store: fresh_store().await,
        vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
        application_id: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into(),
    };
    (deps, vonage)
}

fn request(method: &str, path: &str, content_type: Option<&str>, body: &str) -> Request {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.into())
    })
    .unwrap()
}

async fn call(deps: &Deps, req: Request) -> (u16, serde_json::Value) {
    let r = handle(deps, req).await;
    let status = r.status().as_u16();
    let body = match r.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => serde_json::Value::Null,
    };
    (status, body)
}

async fn updates(vonage: &MockServer) -> Vec<String> {
    vonage
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/number/update")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn adding_links_the_number_then_lists_it() {
    let (deps, vonage) = app().await;
    let body = json!({"msisdn": "+44 7700 900101"}).to_string();
    let (status, n) = call(
        &deps,
        request("POST", "/numbers", Some("application/json"), &body),
    )
    .await;
    assert_eq!(status, 201, "{n}");
    assert_eq!(
        n,
        json!({"msisdn": "447700900101", "country": "GB", "state": "active", "capabilities": [], "active_conversations": 0, "added_at": n["added_at"]})
    );
    let sent = updates(&vonage).await;
    assert_eq!(sent.len(), 1);
    for field in [
        "country=GB",
        "msisdn=447700900101",
        "app_id=aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    ] {
        assert!(sent[0].contains(field), "{field} not in {}", sent[0]);
    }
    let reserved = json!({"msisdn": "12025550100", "state": "reserved"}).to_string();
    assert_eq!(
        call(
            &deps,
            request("POST", "/numbers", Some("application/json"), &reserved)
        )
        .await
        .0,
        201
    );

    let (status, pool) = call(&deps, request("GET", "/numbers", None, "")).await;
    assert_eq!(status, 200);
    let listed: Vec<(&str, &str)> = pool["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["msisdn"].as_str().unwrap(), n["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("447700900101", "active"), ("12025550100", "reserved")]
    );
}

#[tokio::test]
async fn bad_input_and_duplicates_are_refused_without_writes() {
    let (deps, vonage) = app().await;
    let first = json!({"msisdn": "447700900101"}).to_string();
    assert_eq!(
        call(
            &deps,
            request("POST", "/numbers", Some("application/json"), &first)
        )
        .await
        .0,
        201
    );
    let before = all_items(&deps.store).await.len();
    Mock::given(method("POST"))
        .and(path("/number/update"))
        .and(wiremock::matchers::body_string_contains(
            "msisdn=447700900199",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"error-code": "401", "error-code-label": "authentication failed"}),
        ))
        .with_priority(1)
        .mount(&vonage)
        .await;
    let cases = [
        (
            request("POST", "/numbers", Some("application/json"), &first),
            409,
            "duplicate_number",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"msisdn": "+44 (7700) 900-101"}).to_string(),
            ),
            409,
            "duplicate_number",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                "{\"msisdn\": ",
            ),
            400,
            "invalid_json",
        ),
        (
            request("POST", "/numbers", Some("text/plain"), &first),
            415,
            "unsupported_media_type",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"msisdn": "nope"}).to_string(),
            ),
            400,
            "invalid_number",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"msisdn": "447700900102", "country": "gb"}).to_string(),
            ),
            400,
            "invalid_request",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"msisdn": "447700900102", "state": "retired"}).to_string(),
            ),
            400,
            "invalid_request",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"number": "447700900102"}).to_string(),
            ),
            400,
            "invalid_request",
        ),
        (
            request(
                "POST",
                "/numbers",
                Some("application/json"),
                &json!({"msisdn": "447700900199"}).to_string(),
            ),
            503,
            "vonage_unavailable",
        ),
        (
            request("PATCH", "/numbers", Some("application/json"), "{}"),
            405,
            "method_not_allowed",
        ),
    ];
    for (req, status, code) in cases {
        let (got, body) = call(&deps, req).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}"
        );
    }
    assert_eq!(all_items(&deps.store).await.len(), before);
    assert_eq!(
        updates(&vonage).await.len(),
        2,
        "only the first add and the refused link reached Vonage"
    );
}
