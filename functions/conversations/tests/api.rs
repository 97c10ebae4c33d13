//! The conversations API against the real local DynamoDB-API server and a Vonage stand-in.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{App, binary_request, json_request, m, pair, request};
use serde_json::json;
use shared::ports::RouteReader;
use testkit::{all_items, sent_sms};
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, ResponseTemplate};

const GB1: &str = "447700900101";
const GB2: &str = "447700900102";
const US1: &str = "12025550100";

#[tokio::test]
async fn create_get_close() {
    let app = App::new(&[(GB1, "GB"), (GB2, "GB")]).await;
    let (status, c) = app.create(pair("+44 7700 900001", "447700900002")).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "active");
    let people = c["participants"].as_array().unwrap();
    assert_eq!(people[0]["number"], "447700900001");
    assert_eq!(people[1]["number"], "447700900002");
    for p in people {
        assert_eq!(p["country"], "GB");
        assert_eq!(p["notified"], "pending");
        assert!([GB1, GB2].contains(&p["proxy_number"].as_str().unwrap()));
    }
    assert_ne!(
        people[0]["proxy_number"], people[1]["proxy_number"],
        "with two idle numbers, the participants' assignments spread over both"
    );
    let id = c["id"].as_str().unwrap().to_owned();

    // The routes exist both ways.
    let store = &app.deps.store;
    let pa = m(people[0]["proxy_number"].as_str().unwrap());
    let pb = m(people[1]["proxy_number"].as_str().unwrap());
    let route = store.route(&pa, &m("447700900001")).await.unwrap().unwrap();
    assert_eq!(
        (route.callee.as_str(), &route.callee_proxy),
        ("447700900002", &pb)
    );

    let (status, got, _) = app
        .call(request("GET", &format!("/conversations/{id}"), None, ""))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["status"], "active");

    let (status, closed, _) = app
        .call(request("DELETE", &format!("/conversations/{id}"), None, ""))
        .await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "closed");
    assert!(
        store
            .route(&pa, &m("447700900001"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .route(&pb, &m("447700900002"))
            .await
            .unwrap()
            .is_none()
    );
    let (status, again, _) = app
        .call(request("DELETE", &format!("/conversations/{id}"), None, ""))
        .await;
    assert_eq!(
        (status, &again["status"]),
        (200, &json!("closed")),
        "closing twice is fine"
    );
    let (_, got, _) = app
        .call(request("GET", &format!("/conversations/{id}"), None, ""))
        .await;
    assert_eq!(got["status"], "closed");
}

#[tokio::test]
async fn a_reference_makes_creation_idempotent_while_active() {
    let app = App::new(&[(GB1, "GB"), (GB2, "GB")]).await;
    let mut body = pair("447700900001", "447700900002");
    body["reference"] = json!("ride-42");
    let (first, c1) = app.create(body.clone()).await;
    let (second, c2) = app.create(body.clone()).await;
    assert_eq!((first, second), (201, 200));
    assert_eq!(c1["id"], c2["id"]);
    let (_, list, _) = app.call(request("GET", "/conversations", None, "")).await;
    assert_eq!(
        list["conversations"].as_array().unwrap().len(),
        1,
        "the repeat writes nothing (and so texts no one)"
    );

    let id = c1["id"].as_str().unwrap();
    app.call(request("DELETE", &format!("/conversations/{id}"), None, ""))
        .await;
    let (third, c3) = app.create(body).await;
    assert_eq!(
        third, 201,
        "a closed conversation's reference starts a new one"
    );
    assert_ne!(c3["id"], c1["id"]);
}

#[tokio::test]
async fn each_participant_gets_a_number_in_their_country() {
    let app = App::new(&[(GB1, "GB"), (US1, "US")]).await;
    let mut body = pair("+1 202 555 0143", "+44 7700 900001");
    body["ttl_seconds"] = json!(600);
    let (status, c) = app.create(body).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["participants"][0]["country"], "US");
    assert_eq!(c["participants"][0]["proxy_number"], US1);
    assert_eq!(c["participants"][1]["proxy_number"], GB1);
}

#[tokio::test]
async fn the_list_pages_and_filters() {
    let app = App::new(&[(GB1, "GB"), (GB2, "GB"), ("447700900103", "GB")]).await;
    for b in ["447700900002", "447700900003", "447700900004"] {
        assert_eq!(app.create(pair("447700900001", b)).await.0, 201);
    }
    // A fourth would need a fourth number for participant 1.
    let (status, body) = app.create(pair("447700900001", "447700900005")).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (409, "pool_exhausted")
    );

    let (status, page, _) = app
        .call(request("GET", "/conversations?limit=2", None, ""))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["conversations"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest, _) = app
        .call(request(
            "GET",
            &format!("/conversations?limit=2&cursor={cursor}"),
            None,
            "",
        ))
        .await;
    assert_eq!(rest["conversations"].as_array().unwrap().len(), 1);
    let (_, mine, _) = app
        .call(request(
            "GET",
            "/conversations?participant=%2B447700900001&status=active",
            None,
            "",
        ))
        .await;
    assert_eq!(mine["conversations"].as_array().unwrap().len(), 3);
    let (_, theirs, _) = app
        .call(request(
            "GET",
            "/conversations?participant=447700900003",
            None,
            "",
        ))
        .await;
    assert_eq!(theirs["conversations"].as_array().unwrap().len(), 1);
    let (_, none, _) = app
        .call(request("GET", "/conversations?status=closed", None, ""))
        .await;
    assert!(none["conversations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_writes_nothing() {
    let app = App::new(&[(GB1, "GB")]).await;
    Mock::given(method("GET"))
        .and(query_param("number", "447700900666"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": 3, "status_message": "Invalid request"})),
        )
        .with_priority(1)
        .mount(&app.vonage)
        .await;
    let before = all_items(&app.deps.store).await.len();
    let big = format!(
        "{{\"participants\": [], \"reference\": \"{}\"}}",
        "x".repeat(20_000)
    );
    let three = json!({"participants": [{"number": "447700900001"}, {"number": "447700900002"}, {"number": "447700900003"}]});
    let cases: Vec<(lambda_http::Request, u16, &str)> = vec![
        (json_request("POST", "/conversations", "{\"participants\": ["), 400, "invalid_json"),
        (json_request("POST", "/conversations", ""), 400, "invalid_json"),
        (request("POST", "/conversations", Some("text/plain"), &pair("447700900001", "447700900002").to_string()), 415, "unsupported_media_type"),
        (request("POST", "/conversations", None, &pair("447700900001", "447700900002").to_string()), 415, "unsupported_media_type"),
        (json_request("POST", "/conversations", &big), 413, "payload_too_large"),
        (json_request("POST", "/conversations", "[1, 2]"), 400, "invalid_request"),
        (binary_request("POST", "/conversations", b"!\xff{"), 400, "invalid_json"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001"}]}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &three.to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &pair("call me", "447700900002").to_string()), 400, "invalid_number"),
        (json_request("POST", "/conversations", &pair("+44 12", "447700900002").to_string()), 400, "invalid_number"),
        // Possible numbers in Niue and Saint Helena, but too short for an NCCO (rule 5).
        (json_request("POST", "/conversations", &pair("+683 4002", "447700900002").to_string()), 400, "invalid_number"),
        (json_request("POST", "/conversations", &pair("447700900001", "+290 22158").to_string()), 400, "invalid_number"),
        (json_request("POST", "/conversations", &pair("+44 7700 900001", "00447700900001").to_string()), 400, "same_participant"),
        (json_request("POST", "/conversations", &pair(GB1, "447700900002").to_string()), 400, "invalid_number"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001", "lable": "x"}, {"number": "447700900002"}]}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001", "label": "<script>"}, {"number": "447700900002"}]}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001"}, {"number": "447700900002"}], "ttl_seconds": 10}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001", "label": null}, {"number": "447700900002"}], "ttl_seconds": null}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001"}, {"number": "447700900002"}], "ttl_seconds": 99_999_999}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &json!({"participants": [{"number": "447700900001"}, {"number": "447700900002"}], "reference": "a b"}).to_string()), 400, "invalid_request"),
        (json_request("POST", "/conversations", &pair("447700900666", "447700900002").to_string()), 422, "number_not_valid"),
        (request("GET", "/conversations/3f2504e0-4f89-41d3-9a0c-0305e82c3301", None, ""), 404, "not_found"),
        (request("GET", "/conversations/not-an-id", None, ""), 404, "not_found"),
        (request("DELETE", "/conversations/3f2504e0-4f89-41d3-9a0c-0305e82c3301", None, ""), 404, "not_found"),
        (request("PUT", "/conversations", Some("application/json"), "{}"), 405, "method_not_allowed"),
        (request("GET", "/elsewhere", None, ""), 404, "not_found"),
        (request("GET", "/conversations?status=open", None, ""), 400, "invalid_request"),
        (request("GET", "/conversations?status=", None, ""), 400, "invalid_request"),
        (request("GET", "/conversations?participant=", None, ""), 400, "invalid_number"),
        (request("GET", "/conversations?participant=nobody", None, ""), 400, "invalid_number"),
        (request("GET", "/conversations?limit=0", None, ""), 400, "invalid_request"),
        (request("GET", "/conversations?cursor=%21%21", None, ""), 400, "invalid_request"),
    ];
    for (req, status, code) in cases {
        let described = format!("{} {}", req.method(), req.uri());
        let (got, body, content_type) = app.call(req).await;
        assert_eq!(
            (got, body["code"].as_str().unwrap_or("")),
            (status, code),
            "{described}: {body}"
        );
        assert_eq!(content_type, "application/problem+json", "{described}");
        for field in ["type", "title", "status", "detail"] {
            assert!(
                body.get(field).is_some(),
                "{described}: {field} missing in {body}"
            );
        }
        if status >= 500 {
            assert!(
                !body["detail"].as_str().unwrap().contains("500"),
                "no internals in a 5xx: {body}"
            );
        }
    }
    assert_eq!(
        all_items(&app.deps.store).await.len(),
        before,
        "nothing was written"
    );
    assert!(sent_sms(&app.vonage).await.is_empty());
}

#[tokio::test]
async fn an_empty_pool_is_a_clean_pool_exhausted() {
    let app = App::new(&[]).await;
    let (status, body) = app.create(pair("447700900001", "+1 202 555 0143")).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (409, "pool_exhausted")
    );
    assert!(
        body["detail"].as_str().unwrap().contains("participants[0]"),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("GB"), "{body}");
    // Nothing but the record the change stream turns into `pool.exhausted`.
    let items = all_items(&app.deps.store).await;
    assert_eq!(items.len(), 1);
    let change = shared::store::read_change(None, Some(items[0].clone().into()))
        .unwrap()
        .unwrap();
    let events = shared::domain::events::derive(&change, "r", 0);
    assert_eq!(events[0].detail_type, "pool.exhausted");
    assert_eq!(
        (&events[0].detail["country"], &events[0].detail["index"]),
        (&json!("GB"), &json!(0))
    );
}
