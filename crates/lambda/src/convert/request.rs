//! An event's method, target, headers and body as the core's request. The
//! target is taken as the integration delivered it (see [`crate::convert`]);
//! anything that cannot be a request is refused with a 400, not repaired.

use super::{Converted, refuse};
use crate::payload::{Event, Kind, Pairs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use percent_encoding::utf8_percent_encode;
use tollgate_core::uri::{NOT_UNRESERVED as COMPONENT, PATH};

/// The request, or why there is none (the headers are already converted).
pub(super) fn build(event: Event, kind: Kind, headers: HeaderMap) -> Converted {
    let method = match kind {
        Kind::V2 => event.request_context.as_ref().and_then(|c| c.http.as_ref()).and_then(|h| h.method.as_deref()),
        Kind::V1 | Kind::Alb { .. } => event.http_method.as_deref(),
    };
    let Some(method) = method.and_then(|m| Method::from_bytes(m.as_bytes()).ok()) else {
        return refuse("The request method is not valid.", headers);
    };
    let Some(uri) = target(&event, kind) else {
        return refuse("The request target is not a valid path and query.", headers);
    };
    let body = match (event.body, event.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Bytes::new(),
        (Some(text), false) => Bytes::from(text),
        (Some(encoded), true) => match BASE64.decode(encoded.as_bytes()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => return refuse("The request body is not valid base64.", headers),
        },
    };
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Converted::Request(request)
}

/// The origin-form request target (`/path?query`), or `None` if it is not a
/// valid URI.
fn target(event: &Event, kind: Kind) -> Option<Uri> {
    let (path, query) = match kind {
        Kind::V2 => (event.raw_path.clone()?, event.raw_query_string.clone().unwrap_or_default()),
        Kind::V1 => {
            let path = utf8_percent_encode(event.path.as_deref()?, PATH).to_string();
            let query = query_of(event, |s| utf8_percent_encode(s, COMPONENT).to_string());
            (path, query)
        }
        Kind::Alb { .. } => (event.path.clone()?, query_of(event, str::to_owned)),
    };
    if !path.starts_with('/') {
        return None;
    }
    let text = if query.is_empty() { path } else { format!("{path}?{query}") };
    Uri::try_from(text).ok()
}

/// A query string from the parameter maps (the multi-value one when present).
fn query_of(event: &Event, escape: impl Fn(&str) -> String) -> String {
    let mut pairs: Vec<String> = Vec::new();
    if event.multi_value_query_string_parameters.is_empty() {
        for (k, v) in event.query_string_parameters.iter() {
            pairs.push(format!("{}={}", escape(k), escape(v)));
        }
    } else {
        for (k, vs) in event.multi_value_query_string_parameters.iter() {
            for v in vs {
                pairs.push(format!("{}={}", escape(k), escape(v)));
            }
        }
    }
    pairs.join("&")
}

/// The request headers (all values of repeated ones); `true` when one of them
/// is not a valid header.
pub(super) fn headers_of(event: &Event, kind: Kind) -> (HeaderMap, bool) {
    let mut map = HeaderMap::new();
    let mut bad = false;
    let mut add = |name: &str, value: &str| match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_bytes(value.as_bytes()),
    ) {
        (Ok(n), Ok(v)) => {
            map.append(n, v);
        }
        _ => bad = true,
    };
    match kind {
        Kind::V2 => {
            add_all(&event.headers, &mut add);
            // Payload 2.0 moves the Cookie header into `cookies` (the
            // `cargo lambda watch` emulator leaves it in `headers` as well).
            let has_cookie_header = event.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie"));
            if let Some(cookies) = event.cookies.as_ref().filter(|c| !c.is_empty() && !has_cookie_header) {
                add("cookie", &cookies.join("; "));
            }
        }
        // Payload 1.0 and ALB: `multiValueHeaders` (when sent) holds every
        // value; `headers` only the last one of each.
        Kind::V1 | Kind::Alb { .. } if !event.multi_value_headers.is_empty() => {
            for (name, values) in event.multi_value_headers.iter() {
                for value in values {
                    add(name, value);
                }
            }
        }
        Kind::V1 | Kind::Alb { .. } => add_all(&event.headers, &mut add),
    }
    (map, bad)
}

fn add_all(pairs: &Pairs<String>, add: &mut impl FnMut(&str, &str)) {
    for (name, value) in pairs.iter() {
        add(name, value);
    }
}
