//! Request parsing and responses shared by the HTTP functions.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use crate::request::body_bytes;

pub const CONTENT_TYPE_JSON: &str = "application/json";

use crate::request::media_type;
pub use crate::request::{MAX_BODY_BYTES, body_fields, webhook_fields};

fn is_json(media: &str) -> bool {
    media == CONTENT_TYPE_JSON || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Reads a JSON body into `T`: `415` unless it is declared JSON, `413` past `MAX_BODY_BYTES`,
/// `400 invalid_json` when it is not JSON, `400 invalid_request` when it is JSON of the wrong shape.
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let body = body_bytes(req);
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    match media_type(req) {
        Some(m) if is_json(&m) => {}
        Some(m) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected {CONTENT_TYPE_JSON}, got {m}"
            )));
        }
        None => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type: {CONTENT_TYPE_JSON}"
            )));
        }
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidJson(format!("the body is not valid JSON: {e}")))?;
    if let Some(at) = null_at(&value, "") {
        return Err(ApiError::InvalidRequest(format!(
            "{at} is null; leave an optional field out instead"
        )));
    }
    serde_json::from_value(value).map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

/// Where the first `null` in a JSON document is (no field of the API takes one).
fn null_at(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(if at.is_empty() {
            "the body".into()
        } else {
            at.into()
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| null_at(v, &format!("{at}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            null_at(
                v,
                &if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                },
            )
        }),
        _ => None,
    }
}

pub fn json_response<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE_JSON)
            .body(Body::Text(body))
            .unwrap_or_else(|_| Response::new(Body::Empty)),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub fn empty_response(status: u16) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The public base URL the request came in on (scheme and host), for links back to ourselves
/// such as the NCCO's `eventUrl`. API Gateway gives its domain in the request context; a local
/// emulator gives a `Host` header on plain HTTP.
pub fn request_base_url(req: &Request) -> String {
    let domain = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    }
    .filter(|d| !d.is_empty());
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let forwarded_proto = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    // The Host header carries the port a local emulator listens on; on API Gateway it is the
    // same as the request context's domain.
    let host = host.or(domain).unwrap_or_else(|| "localhost".into());
    let local =
        host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]");
    let scheme = forwarded_proto.unwrap_or_else(|| if local { "http" } else { "https" }.into());
    format!("{scheme}://{host}")
}

/// The request path without a trailing slash (API Gateway's `rawPath`, without a stage name).
pub fn path(req: &Request) -> String {
    let p = req.uri().path().trim_end_matches('/');
    if p.is_empty() {
        "/".into()
    } else {
        p.to_owned()
    }
}
