//! Requests as API Gateway hands them to a handler, and answers read back.

use lambda_http::{Body, Request, RequestExt, Response};

/// A request: `path_and_query` may carry a query string, which becomes the query parameters.
pub fn request(
    method: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    body: &str,
) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let params: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(query).expect("a test query string");
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_owned())
    };
    builder
        .body(body)
        .expect("a test request")
        .with_query_string_parameters(params)
}

/// The host API Gateway serves the stack's webhooks on, in tests.
pub const WEBHOOK_HOST: &str = "abc123.execute-api.eu-west-1.amazonaws.com";

/// A webhook `GET` as API Gateway hands it over: on the stack's host (so links back to the
/// stack, such as an NCCO's `eventUrl`, name it), with `query` as its query parameters.
pub fn webhook_get(path: &str, query: &[(&str, &str)]) -> Request {
    let params: std::collections::HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    http::Request::builder()
        .method("GET")
        .uri(format!("https://{WEBHOOK_HOST}{path}"))
        .header("host", WEBHOOK_HOST)
        .body(Body::Empty)
        .expect("a test request")
        .with_query_string_parameters(params)
}

/// A JSON request, or one without a body for `None`.
pub fn json(method: &str, path_and_query: &str, body: Option<serde_json::Value>) -> Request {
    match body {
        Some(b) => request(
            method,
            path_and_query,
            Some("application/json"),
            &b.to_string(),
        ),
        None => request(method, path_and_query, None, ""),
    }
}

/// A form-encoded webhook, as Vonage posts inbound SMS.
pub fn form(path: &str, fields: &[(&str, &str)]) -> Request {
    let body = serde_urlencoded::to_string(fields).expect("a test form");
    request(
        "POST",
        path,
        Some("application/x-www-form-urlencoded"),
        &body,
    )
}

/// An answer's status and JSON body (`Null` when it has none).
pub fn read(response: Response<Body>) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(serde_json::Value::Null),
        Body::Empty => serde_json::Value::Null,
        _ => serde_json::Value::Null,
    };
    (status, body)
}

/// A JSON request to any function's handler, and its answer read back.
pub async fn call(
    handler: &impl shared::runtime::Handler,
    method: &str,
    path_and_query: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    read(handler.handle(json(method, path_and_query, body)).await)
}
