//! A function's answer as the HTTP response the core passes on: a proxy
//! response's status, headers (`headers`, then `multiValueHeaders` replacing
//! a name, then `cookies` as `Set-Cookie`) and body; or any other JSON as a
//! 200 `application/json` body. Names and values that cannot be HTTP headers,
//! and base64 that does not decode, are errors.

use super::errors::{protocol, shorten};
use crate::payload::{Answer, Body, ProxyResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use tollgate_core::platform::UpstreamError;

/// The largest invoke answer read at all (Lambda itself caps it at 6 MB).
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// A function's answer as an HTTP response, read as API Gateway reads it.
/// Never panics; what cannot be read is `UpstreamError::Protocol`.
pub fn response_of(payload: &[u8]) -> Result<Response<Bytes>, UpstreamError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(protocol(format!("the function's answer is larger than {MAX_PAYLOAD} bytes")));
    }
    match Answer::read(payload).map_err(|e| protocol(shorten(&e.to_string(), 300)))? {
        Answer::Proxy(proxy) => from_proxy(proxy),
        Answer::Json => {
            // Not a proxy response: the JSON itself is the body.
            let mut response = Response::new(Bytes::copy_from_slice(payload));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
    }
}

fn from_proxy(proxy: ProxyResponse) -> Result<Response<Bytes>, UpstreamError> {
    let mut headers = HeaderMap::new();
    for (name, value) in proxy.headers.unwrap_or_default() {
        headers.insert(header_name(&name)?, header_value(&name, &value)?);
    }
    for (name, values) in proxy.multi_value_headers.unwrap_or_default() {
        let header = header_name(&name)?;
        // multiValueHeaders win over headers of the same name.
        headers.remove(&header);
        for value in values {
            headers.append(header.clone(), header_value(&name, &value)?);
        }
    }
    for cookie in proxy.cookies.unwrap_or_default() {
        headers.append(SET_COOKIE, header_value("set-cookie", &cookie)?);
    }
    // The body is whole here: framing headers from the function would lie.
    headers.remove(CONTENT_LENGTH);
    headers.remove(TRANSFER_ENCODING);

    let body = match proxy.body {
        Body::Text(text) if proxy.is_base64_encoded => BASE64
            .decode(text.trim())
            .map(Bytes::from)
            .map_err(|e| protocol(format!("the function's body is not base64: {e}")))?,
        Body::Text(text) => Bytes::from(text),
        // API Gateway wants a string; a JSON value is sent as JSON.
        Body::Json(value) => Bytes::from(value.to_string()),
    };

    let mut response = Response::new(body);
    *response.status_mut() = proxy.status_code;
    *response.headers_mut() = headers;
    Ok(response)
}

fn header_name(name: &str) -> Result<HeaderName, UpstreamError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| protocol(format!("the function answered an invalid header name `{}`", shorten(name, 64))))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, UpstreamError> {
    HeaderValue::from_str(value)
        .map_err(|_| protocol(format!("the function answered an invalid value for header `{}`", shorten(name, 64))))
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
