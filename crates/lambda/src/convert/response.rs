//! The core's response as the integration's [`ProxyResponse`]: payload 2.0
//! joins repeated headers and moves `Set-Cookie` to `cookies`; payload 1.0
//! and ALB in multi-value mode list every value; ALB without it keeps one
//! value per name (the first `Set-Cookie`). ALB also gets a
//! `statusDescription`.

use crate::payload::{Body, Kind, ProxyResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::HeaderMap;
use http::header::SET_COOKIE;
use std::collections::BTreeMap;

/// The core's response → the integration's response. A UTF-8 body goes as
/// text, anything else as base64, byte for byte. Header values that are not
/// UTF-8 cannot be put in the JSON and are dropped (with a warning).
pub fn outgoing(response: http::Response<Bytes>, kind: Kind) -> ProxyResponse {
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match String::from_utf8(Vec::from(body)) {
        Ok(text) => (text, false),
        Err(e) => (BASE64.encode(e.as_bytes()), true),
    };
    let mut out = ProxyResponse {
        status_code: parts.status,
        body: Body::Text(body),
        is_base64_encoded,
        ..ProxyResponse::default()
    };
    let headers = utf8_headers(&parts.headers);
    match kind {
        Kind::V2 => {
            let mut cookies = Vec::new();
            let mut joined = BTreeMap::new();
            for (name, values) in headers {
                if name == SET_COOKIE.as_str() {
                    cookies.extend(values);
                } else {
                    joined.insert(name, values.join(", "));
                }
            }
            out.headers = Some(joined);
            // Always present, even empty: AWS accepts it missing, but
            // `cargo lambda watch` (and aws_lambda_events) require it.
            out.cookies = Some(cookies);
        }
        Kind::V1 | Kind::Alb { multi_value: true } => out.multi_value_headers = Some(headers.into_iter().collect()),
        Kind::Alb { multi_value: false } => {
            let mut single = BTreeMap::new();
            for (name, mut values) in headers {
                if name == SET_COOKIE.as_str() {
                    if values.len() > 1 {
                        tracing::warn!(
                            "several Set-Cookie headers, but the ALB target group has no multi-value headers: only the first is sent"
                        );
                    }
                    values.truncate(1);
                }
                single.insert(name, values.join(", "));
            }
            out.headers = Some(single);
        }
    }
    if let Kind::Alb { .. } = kind {
        let reason = parts.status.canonical_reason().unwrap_or("");
        out.status_description = Some(format!("{} {reason}", parts.status.as_u16()).trim_end().to_owned());
    }
    out
}

/// Each header name with its UTF-8 values, in order.
fn utf8_headers(headers: &HeaderMap) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut values = Vec::new();
        for value in headers.get_all(name) {
            match std::str::from_utf8(value.as_bytes()) {
                Ok(v) => values.push(v.to_owned()),
                Err(_) => tracing::warn!(header = %name, "response header value is not UTF-8; dropped"),
            }
        }
        if !values.is_empty() {
            out.push((name.as_str().to_owned(), values));
        }
    }
    out
}
