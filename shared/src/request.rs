//! What every layer may read of a Lambda HTTP request: its raw body (a signature covers it; the
//! HTTP kit parses it).

use lambda_http::{Body, Request};

/// The body's bytes as they came: text, binary (API Gateway's base64, decoded) or nothing.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}
