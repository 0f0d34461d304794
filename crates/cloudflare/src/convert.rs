//! Conversions between the Workers (JS) request/response objects and the
//! `http` types the core speaks. The request URL is taken apart textually, so
//! the path and query reach the core exactly as the Workers runtime handed
//! them over (the core normalises; nothing here does). Header values
//! cross as UTF-8, which is what workerd uses on the wire.

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use std::net::IpAddr;
use tollgate_core::ClientInfo;
use tollgate_core::body::CappedBody;
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::web_sys;

/// Why the request body could not be taken.
pub enum BodyError {
    /// Longer than the gateway's `limits.max_body_bytes`.
    TooLarge,
    Unreadable(String),
}

/// A header value for JS. workerd reads and writes header values as UTF-8
/// (bytes that are not UTF-8 reach the worker as U+FFFD), so that is how they
/// cross in both directions; other bytes are replaced the same way.
pub fn header_text(value: &HeaderValue) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

/// Every entry of a JS `Headers`, in iteration order (names lower-case).
/// Entries that are not valid HTTP are reported by name.
pub fn header_map(headers: &web_sys::Headers) -> (HeaderMap, Vec<String>) {
    let mut map = HeaderMap::new();
    let mut bad = Vec::new();
    let Ok(Some(iter)) = js_sys::try_iter(headers) else {
        return (map, vec!["<headers not iterable>".into()]);
    };
    for entry in iter {
        let Ok(entry) = entry else { continue };
        let pair: js_sys::Array = entry.unchecked_into();
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else { continue };
        let converted = HeaderName::from_bytes(name.as_bytes()).ok().zip(HeaderValue::from_str(&value).ok());
        match converted {
            Some((n, v)) => {
                map.append(n, v);
            }
            None => bad.push(name),
        }
    }
    (map, bad)
}

/// Splits `scheme://authority/path?query#fragment` without re-parsing it.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
    Some((scheme, authority, tail))
}

/// What the request line and the platform say about a request.
pub struct Head {
    pub method: Method,
    pub uri: Uri,
    pub client: ClientInfo,
}

/// Method, URI (origin form: path and query as received) and client facts,
/// beside the headers, which come back even when the rest fails (for
/// `reject`) and are moved, not copied, into the request later.
pub fn request_head(req: &web_sys::Request) -> (Result<Head, String>, HeaderMap) {
    let (headers, bad_headers) = header_map(&req.headers());
    let head = match bad_headers.first() {
        Some(name) => Err(format!("The request header `{name}` is not valid HTTP.")),
        None => convert_head(req, &headers),
    };
    (head, headers)
}

fn convert_head(req: &web_sys::Request, headers: &HeaderMap) -> Result<Head, String> {
    let method =
        Method::from_bytes(req.method().as_bytes()).map_err(|_| "The request method is not valid.".to_owned())?;
    let url = req.url();
    let (scheme, authority, tail) = split_url(&url).ok_or_else(|| "The request URL could not be read.".to_owned())?;
    let path_and_query = if tail.starts_with('/') { tail.to_owned() } else { format!("/{tail}") };
    let uri: Uri = path_and_query.parse().map_err(|_| "The request target is not a valid URI.".to_owned())?;
    let client = ClientInfo {
        peer_ip: headers
            .get("cf-connecting-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok()),
        https: scheme.eq_ignore_ascii_case("https"),
        host: HeaderValue::from_str(authority).ok(),
    };
    Ok(Head { method, uri, client })
}

/// The request the core handles: the head's parts, the headers moved in.
pub fn into_request(head: Head, headers: HeaderMap, body: Bytes) -> http::Request<Bytes> {
    let mut request = http::Request::new(body);
    *request.method_mut() = head.method;
    *request.uri_mut() = head.uri;
    *request.headers_mut() = headers;
    request
}

/// How much of an over-limit body is read and dropped before answering 413.
const MAX_DRAIN: usize = 16 * 1024 * 1024;

/// The whole body, refused as soon as it passes `limit` (the first chunk is
/// kept without a copy). A declared `Content-Length` over the limit is not
/// read at all: the core answers 413 from the header.
pub async fn read_body(req: &mut worker::Request, headers: &HeaderMap, limit: u64) -> Result<Bytes, BodyError> {
    if req.inner().body().is_none() {
        return Ok(Bytes::new());
    }
    let Ok(mut body) = CappedBody::new(headers, limit) else { return Ok(Bytes::new()) };
    let mut stream = req.stream().map_err(|e| BodyError::Unreadable(e.to_string()))?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        if body.push_owned(chunk).is_err() {
            // Answering while the client is still sending stalls the next
            // request on the connection in workerd: read the rest (bounded) first.
            let mut drained = 0usize;
            while let Some(Ok(more)) = stream.next().await {
                drained += more.len();
                if drained > MAX_DRAIN {
                    break;
                }
            }
            return Err(BodyError::TooLarge);
        }
    }
    Ok(Bytes::from(body.into_vec()))
}

/// Statuses whose responses must not carry a body (the JS constructor throws).
fn null_body_status(status: u16) -> bool {
    matches!(status, 101 | 204 | 205 | 304)
}

/// Takes the response apart so that the body crosses into JS with one copy:
/// a `Bytes` that owns its buffer alone becomes the `Vec` without copying.
fn build_response(resp: http::Response<Bytes>) -> Result<web_sys::Response, JsValue> {
    let (parts, body) = resp.into_parts();
    let headers = web_sys::Headers::new()?;
    for (name, value) in &parts.headers {
        if let Err(e) = headers.append(name.as_str(), &header_text(value)) {
            tracing::warn!(header = %name, error = ?e, "response header dropped: not accepted by the runtime");
        }
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(parts.status.as_u16());
    init.set_headers(&headers);
    if body.is_empty() || null_body_status(parts.status.as_u16()) {
        web_sys::Response::new_with_opt_u8_array_and_init(None, &init)
    } else {
        let mut body = Vec::from(body);
        web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut body), &init)
    }
}

/// The core's answer as a Workers response: status, every header (repeated
/// ones included), body. An answer the runtime refuses (say, a status outside
/// 200–599 passed through from a backend) becomes the core's 502.
pub fn to_worker_response(
    resp: http::Response<Bytes>,
    fallback: impl FnOnce() -> http::Response<Bytes>,
) -> worker::Result<web_sys::Response> {
    let status = resp.status().as_u16();
    match build_response(resp) {
        Ok(r) => Ok(r),
        Err(e) => {
            tracing::warn!(status, error = ?e, "response refused by the runtime");
            Ok(build_response(fallback())?)
        }
    }
}
