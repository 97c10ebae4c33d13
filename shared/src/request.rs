//! What every layer may read of a Lambda HTTP request: its raw body (a signature covers it),
//! its declared media type, and a webhook's fields.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};

/// The largest body accepted (management API and webhooks).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The body's bytes as they came: text, binary (API Gateway's base64, decoded) or nothing.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// The declared media type, lower case, without parameters.
pub fn media_type(req: &Request) -> Option<String> {
    let value = req
        .headers()
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// The webhook's fields, wherever Vonage put them: the query string (GET), a JSON object or a
/// form (POST). For webhooks whose signature covers every parameter (the SMS API's `sig`), and
/// locally. `None` for a body that is neither, or too large.
pub fn webhook_fields(req: &Request) -> Option<HashMap<String, String>> {
    let mut fields: HashMap<String, String> = req
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    fields.extend(body_fields(req)?);
    Some(fields)
}

/// The fields of the body alone (a JSON object or a form), which a signed token's
/// `payload_hash` covers. Non-string JSON values are kept in their JSON text. `None` for a
/// body that is neither, or too large.
pub fn body_fields(req: &Request) -> Option<HashMap<String, String>> {
    let mut fields = HashMap::new();
    let body = body_bytes(req);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(fields);
    }
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    let media = media_type(req).unwrap_or_default();
    if media == "application/x-www-form-urlencoded" {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        fields.extend(pairs);
        return Some(fields);
    }
    // Vonage posts JSON; accept it whatever the declared type, since that is what it sends.
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    for (k, v) in object {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        fields.insert(k.clone(), text);
    }
    Some(fields)
}
