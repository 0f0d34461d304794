//! The event a `lambda:` upstream's function gets: the one an API Gateway
//! HTTP API (payload format 2.0) would send it for the request the core
//! prepared (rewritten path and query, the gateway's headers).

use crate::payload::{Event, HttpDescription, RequestContext};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::Request;
use http::header::COOKIE;
use percent_encoding::percent_decode_str;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The route key and stage of every invoke event (a catch-all route).
const DEFAULT_ROUTE: &str = "$default";

/// The API Gateway HTTP API (payload 2.0) event for a request the core sends
/// to a function. Header names are lower-case, repeated headers joined with
/// `,`, `Cookie` goes to `cookies`; a body that is not UTF-8 is base64.
/// Header values that are not UTF-8 are written lossily (U+FFFD).
pub fn invoke_event(request: &Request<Bytes>, now: SystemTime) -> Event {
    let uri = request.uri();
    let path = uri.path();
    let raw_query = uri.query().unwrap_or_default();
    let headers = request.headers();

    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for name in headers.keys() {
        let values = headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if name == COOKIE {
            for line in values {
                cookies.extend(line.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            }
        } else {
            joined.insert(name.as_str().to_owned(), values.collect::<Vec<_>>().join(","));
        }
    }
    let header = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    // The client as the gateway saw it: the last X-Forwarded-For entry (the core appends it).
    let source_ip = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string());

    let (body, is_base64) = match request.body() {
        b if b.is_empty() => (None, false),
        b => match std::str::from_utf8(b) {
            Ok(text) => (Some(text.to_owned()), false),
            Err(_) => (Some(BASE64.encode(b)), true),
        },
    };
    let epoch_ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let epoch_ms = u64::try_from(epoch_ms).unwrap_or(u64::MAX);

    Event {
        version: Some("2.0".into()),
        route_key: Some(DEFAULT_ROUTE.into()),
        raw_path: Some(path.into()),
        raw_query_string: Some(raw_query.into()),
        cookies: (!cookies.is_empty()).then_some(cookies),
        headers: joined.into_iter().collect(),
        query_string_parameters: query_parameters(raw_query).into_iter().collect(),
        request_context: Some(RequestContext {
            route_key: Some(DEFAULT_ROUTE.into()),
            stage: Some(DEFAULT_ROUTE.into()),
            request_id: header("x-request-id"),
            domain_name: header("x-forwarded-host").or_else(|| uri.host().map(str::to_owned)),
            time_epoch: Some(epoch_ms),
            http: Some(HttpDescription {
                method: Some(request.method().as_str().into()),
                path: Some(path.into()),
                protocol: Some("HTTP/1.1".into()),
                source_ip,
                user_agent: header("user-agent"),
            }),
            ..RequestContext::default()
        }),
        body,
        is_base64_encoded: Some(is_base64),
        ..Event::default()
    }
}

/// `queryStringParameters` as API Gateway builds them: decoded (`+` is a
/// space), repeated keys joined with `,`.
fn query_parameters(raw: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        match out.entry(decode(key)) {
            Entry::Occupied(mut existing) => {
                let existing = existing.get_mut();
                existing.push(',');
                existing.push_str(&value);
            }
            Entry::Vacant(slot) => {
                slot.insert(value);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
