//! Conversions between Lambda HTTP events ([`crate::event`]) and the core's
//! `http::Request<Bytes>` / `http::Response<Bytes>`. No gateway logic here,
//! and nothing is decoded or normalised: that is the core's job, and doing it
//! here would hide path attacks from it.
//!
//! - Function URLs / HTTP APIs (payload 2.0): path and query are `rawPath` and
//!   `rawQueryString`, byte for byte.
//! - REST APIs (payload 1.0) carry only a decoded `path` and decoded query
//!   parameters: characters that cannot stand in a URI are percent-encoded
//!   again (the path's `%` is left alone), the query is rebuilt from the
//!   parameters.
//! - ALB passes `path` and the query parameters as the client sent them; the
//!   query is rebuilt from them unchanged.
//!
//! The client address comes from the event's request context
//! (`requestContext.http.sourceIp`, `requestContext.identity.sourceIp`). ALB
//! events have none: ALB appends the address it saw to `X-Forwarded-For`
//! (its default `append` mode), so there the client is the rightmost element
//! — the one ALB wrote, never one the client sent before it.

use crate::event::{Event, EventResponse, Kind, Pairs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{HOST, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use std::collections::BTreeMap;
use std::net::IpAddr;
use tollgate_core::{ClientInfo, GatewayError};

/// Characters that cannot appear raw in a URI path (`%` is not among them).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Everything but RFC 3986 unreserved characters, for query keys and values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A converted event: the request (or why there is none), and what the
/// platform says about the client.
pub struct Incoming {
    pub request: Converted,
    pub client: ClientInfo,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Converted {
    /// A request the core can take.
    Request(http::Request<Bytes>),
    /// A request that cannot be converted: the error, and the headers the
    /// core's `reject` needs (request id, CORS origin).
    Refused { error: GatewayError, headers: HeaderMap },
}

/// The event → the core's request. Never panics.
pub fn incoming(event: Event) -> Incoming {
    let kind = event.kind();
    let (headers, bad_header) = headers_of(&event, kind);
    let client = client_info(&event, &headers);
    let request =
        if bad_header { refuse("A request header is not valid.", headers) } else { build(event, kind, headers) };
    Incoming { request, client, kind }
}

fn refuse(detail: &str, headers: HeaderMap) -> Converted {
    Converted::Refused { error: GatewayError::BadRequest(detail.into()), headers }
}

fn build(event: Event, kind: Kind, headers: HeaderMap) -> Converted {
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
    if event.multi_value_query_string_parameters.0.is_empty() {
        for (k, v) in &event.query_string_parameters.0 {
            pairs.push(format!("{}={}", escape(k), escape(v)));
        }
    } else {
        for (k, vs) in &event.multi_value_query_string_parameters.0 {
            for v in vs {
                pairs.push(format!("{}={}", escape(k), escape(v)));
            }
        }
    }
    pairs.join("&")
}

/// The request headers (all values of repeated ones); `true` when one of them
/// is not a valid header.
fn headers_of(event: &Event, kind: Kind) -> (HeaderMap, bool) {
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
            let has_cookie_header = event.headers.0.iter().any(|(n, _)| n.eq_ignore_ascii_case("cookie"));
            if let Some(cookies) = event.cookies.as_ref().filter(|c| !c.is_empty() && !has_cookie_header) {
                add("cookie", &cookies.join("; "));
            }
        }
        // Payload 1.0 and ALB: `multiValueHeaders` (when sent) holds every
        // value; `headers` only the last one of each.
        Kind::V1 | Kind::Alb { .. } if !event.multi_value_headers.0.is_empty() => {
            for (name, values) in &event.multi_value_headers.0 {
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
    for (name, value) in &pairs.0 {
        add(name, value);
    }
}

/// The client as the platform saw it.
fn client_info(event: &Event, headers: &HeaderMap) -> ClientInfo {
    let context = event.request_context.as_ref();
    let source_ip = match event.kind() {
        Kind::V2 => context.and_then(|c| c.http.as_ref()).and_then(|h| h.source_ip.as_deref()),
        Kind::V1 => context.and_then(|c| c.identity.as_ref()).and_then(|i| i.source_ip.as_deref()),
        Kind::Alb { .. } => return ClientInfo { peer_ip: alb_client(headers), ..client_info_rest(context, headers) },
    };
    let peer_ip = source_ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok());
    ClientInfo { peer_ip, ..client_info_rest(context, headers) }
}

/// The address ALB appended: the last element of the last `X-Forwarded-For` line.
fn alb_client(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let element = last.as_bytes().rsplit(|b| *b == b',').next()?.trim_ascii();
    std::str::from_utf8(element).ok()?.parse().ok()
}

/// Scheme and host of the client's request.
fn client_info_rest(context: Option<&crate::event::RequestContext>, headers: &HeaderMap) -> ClientInfo {
    // Function URLs, API Gateway and ALB set X-Forwarded-Proto themselves
    // (replacing one the client sent). Emulators such as `cargo lambda watch`
    // send none: that is plain HTTP.
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let domain = context.and_then(|c| c.domain_name.as_deref());
    let host = headers.get(HOST).cloned().or_else(|| domain.and_then(|d| HeaderValue::from_str(d).ok()));
    ClientInfo { peer_ip: None, https, host }
}

/// The core's response → the integration's response. A UTF-8 body goes as
/// text, anything else as base64, byte for byte. Header values that are not
/// UTF-8 cannot be put in the JSON and are dropped (with a warning).
pub fn outgoing(response: http::Response<Bytes>, kind: Kind) -> EventResponse {
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match String::from_utf8(Vec::from(body)) {
        Ok(text) => (text, false),
        Err(e) => (BASE64.encode(e.as_bytes()), true),
    };
    let mut out =
        EventResponse { status_code: parts.status.as_u16(), body, is_base64_encoded, ..EventResponse::default() };
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const FUNCTION_URL: &str = include_str!("../tests/data/function_url_get.json");
    const HTTP_API_POST: &str = include_str!("../tests/data/apigw_v2_post_base64.json");
    const REST_API: &str = include_str!("../tests/data/apigw_rest_put.json");
    const ALB: &str = include_str!("../tests/data/alb_get.json");
    const ALB_MULTI: &str = include_str!("../tests/data/alb_multi_value.json");

    fn event(json: &str) -> Incoming {
        let event: Event = serde_json::from_str(json).expect("fixture is a valid event");
        incoming(event)
    }

    fn ok(incoming: &Incoming) -> &http::Request<Bytes> {
        match &incoming.request {
            Converted::Request(r) => r,
            Converted::Refused { error, .. } => panic!("refused: {error:?}"),
        }
    }

    fn values<'a>(req: &'a http::Request<Bytes>, name: &str) -> Vec<&'a [u8]> {
        req.headers().get_all(name).iter().map(HeaderValue::as_bytes).collect()
    }

    #[test]
    fn function_url_keeps_the_raw_path_and_query() {
        let inc = event(FUNCTION_URL);
        let req = ok(&inc);
        assert_eq!(inc.kind, Kind::V2);
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/public/%2e%2e/admin//x/..%2Fy");
        assert_eq!(req.uri().query(), Some("q=a%20b&q=c+d&empty=&raw=%2F"));
        assert_eq!(req.uri().to_string(), "/public/%2e%2e/admin//x/..%2Fy?q=a%20b&q=c+d&empty=&raw=%2F");
    }

    #[test]
    fn function_url_client_comes_from_the_request_context_not_x_forwarded_for() {
        let inc = event(FUNCTION_URL);
        assert_eq!(inc.client.peer_ip, Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7))));
        assert!(inc.client.https);
        assert_eq!(
            inc.client.host.as_ref().map(HeaderValue::as_bytes),
            Some(&b"abcdefg.lambda-url.us-east-1.on.aws"[..])
        );
        // The client-sent X-Forwarded-For stays a header (the core decides
        // what it is worth) and is not the peer address.
        assert_eq!(values(ok(&inc), "x-forwarded-for"), vec![&b"6.6.6.6, 198.51.100.7"[..]]);
    }

    #[test]
    fn function_url_headers_and_cookies_survive() {
        let inc = event(FUNCTION_URL);
        let req = ok(&inc);
        // Payload 2.0 joins repeated headers with commas; the value arrives whole.
        assert_eq!(values(req, "accept"), vec![&b"application/json, text/plain"[..]]);
        assert_eq!(values(req, "x-request-id"), vec![&b"req-123"[..]]);
        // The event's `cookies` array becomes one Cookie header again.
        assert_eq!(values(req, "cookie"), vec![&b"a=1; b=2"[..]]);
        // ... once, even when the Cookie header is also there.
        let json = FUNCTION_URL
            .replace("\"x-request-id\": \"req-123\"", "\"x-request-id\": \"req-123\", \"cookie\": \"a=1; b=2\"");
        let inc = event(&json);
        assert_eq!(values(ok(&inc), "cookie"), vec![&b"a=1; b=2"[..]]);
        assert!(req.body().is_empty());
    }

    #[test]
    fn http_api_base64_body_is_decoded_to_bytes() {
        let inc = event(HTTP_API_POST);
        let req = ok(&inc);
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.body().as_ref(), &[0x00, 0xff, 0xfe, 0x01, b'h', b'i', 0x80][..]);
        // A named stage: rawPath is used as given (it holds the stage).
        assert_eq!(req.uri().path(), "/prod/v1/upload");
        assert_eq!(req.uri().query(), None);
        assert_eq!(inc.client.peer_ip, "2001:db8::5".parse().ok());
    }

    #[test]
    fn rest_api_keeps_every_value_of_multi_value_headers() {
        let inc = event(REST_API);
        let req = ok(&inc);
        assert_eq!(inc.kind, Kind::V1);
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(values(req, "x-multi"), vec![&b"one"[..], &b"two"[..]]);
        assert_eq!(values(req, "host"), vec![&b"1234567890.execute-api.us-east-1.amazonaws.com"[..]]);
        assert_eq!(req.body().as_ref(), b"{\"name\":\"x\"}");
        assert_eq!(inc.client.peer_ip, Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))));
        assert!(inc.client.https);
    }

    #[test]
    fn rest_api_decoded_path_and_query_are_escaped_again_not_normalised() {
        let inc = event(REST_API);
        let req = ok(&inc);
        // `path` has no stage prefix; its decoded space and `?` are escaped,
        // its `..` and `%` are left for the core.
        assert_eq!(req.uri().path(), "/v1/users/42/a%20b%3F/../%2e");
        assert_eq!(req.uri().query(), Some("lang=en&lang=fr&q=a%20b%26c"));
    }

    #[test]
    fn alb_client_is_the_last_element_of_the_last_line_or_none() {
        let cases: [(&[&[u8]], Option<&str>); 7] = [
            (&[b"72.12.164.125"], Some("72.12.164.125")),
            (&[b"6.6.6.6, 72.12.164.125"], Some("72.12.164.125")),
            (&[b"6.6.6.6", b"2001:db8::7"], Some("2001:db8::7")),
            (&[b"\xff, 72.12.164.125"], Some("72.12.164.125")),
            (&[b"72.12.164.125, \xff"], None),
            (&[b"72.12.164.125, "], None),
            (&[], None),
        ];
        for (lines, want) in cases {
            let mut h = HeaderMap::new();
            for l in lines {
                h.append("x-forwarded-for", HeaderValue::from_bytes(l).expect("value"));
            }
            assert_eq!(alb_client(&h), want.map(|w| w.parse().expect("ip")), "{lines:?}");
        }
    }

    #[test]
    fn alb_path_and_query_pass_unchanged_and_the_client_is_the_hop_alb_appended() {
        let inc = event(ALB);
        let req = ok(&inc);
        assert_eq!(inc.kind, Kind::Alb { multi_value: false });
        assert_eq!(inc.client.peer_ip, Some(IpAddr::V4(Ipv4Addr::new(72, 12, 164, 125))), "not the client's 6.6.6.6");
        assert!(!inc.client.https, "an http listener");
        assert_eq!(req.uri().path(), "/public/%2e%2e/admin");
        assert_eq!(req.uri().query(), Some("q=a%20b"));
        assert_eq!(values(req, "x-forwarded-for"), vec![&b"6.6.6.6, 72.12.164.125"[..]]);
    }

    #[test]
    fn alb_multi_value_mode() {
        let inc = event(ALB_MULTI);
        let req = ok(&inc);
        assert_eq!(inc.kind, Kind::Alb { multi_value: true });
        assert_eq!(values(req, "x-multi"), vec![&b"one"[..], &b"two"[..]]);
        assert_eq!(req.uri().query(), Some("a=1&a=2"));
        let mut resp = http::Response::new(Bytes::new());
        resp.headers_mut().append(SET_COOKIE, HeaderValue::from_static("a=1"));
        resp.headers_mut().append(SET_COOKIE, HeaderValue::from_static("b=2"));
        let out = outgoing(resp, inc.kind);
        assert_eq!(out.status_description.as_deref(), Some("200 OK"));
        assert_eq!(
            out.multi_value_headers.and_then(|h| h.get("set-cookie").cloned()),
            Some(vec!["a=1".into(), "b=2".into()])
        );
    }

    #[test]
    fn odd_targets_are_refused_with_a_400_not_a_panic() {
        for (from, to) in [
            ("\"rawQueryString\": \"q=a%20b&q=c+d&empty=&raw=%2F\"", "\"rawQueryString\": \"a=\\\"x\\\"<y>\""),
            ("\"rawQueryString\": \"q=a%20b&q=c+d&empty=&raw=%2F\"", "\"rawQueryString\": \"a=b c\""),
            ("\"rawPath\": \"/public/%2e%2e/admin//x/..%2Fy\"", "\"rawPath\": \"relative\""),
            ("\"method\": \"GET\"", "\"method\": \"G E T\""),
            ("\"x-request-id\": \"req-123\"", "\"x-request-id\": \"req-123\", \"bad\": \"a\\u0000b\""),
            ("\"isBase64Encoded\": false", "\"isBase64Encoded\": true, \"body\": \"***\""),
        ] {
            let json = FUNCTION_URL.replace(from, to);
            assert_ne!(json, FUNCTION_URL, "fixture edit did not apply: {to}");
            let inc = event(&json);
            let Converted::Refused { error, headers } = &inc.request else {
                panic!("converted: {to}");
            };
            assert_eq!(error.status(), http::StatusCode::BAD_REQUEST, "{to}");
            assert!(headers.contains_key("x-request-id"), "{to}");
        }
    }

    /// What `http::Uri` accepts passes unchanged, raw UTF-8 included (as on
    /// the local server, whose hyper parses request targets the same way).
    #[test]
    fn odd_but_valid_targets_pass_unchanged() {
        for raw in
            ["//admin", "/%61dmin", "/a%2Fb", "/a%5Cb", "/a%00b", "/public/../admin", "/a;b", "/%zz", "/caf\u{e9}"]
        {
            let json = FUNCTION_URL.replace("/public/%2e%2e/admin//x/..%2Fy", raw);
            let inc = event(&json);
            assert_eq!(ok(&inc).uri().path(), raw);
        }
    }

    #[test]
    fn binary_bodies_go_out_as_base64_and_text_as_text() {
        let mut resp = http::Response::new(Bytes::from_static(&[0x89, b'P', b'N', b'G', 0x00, 0xff]));
        resp.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=iso-8859-1"));
        let out = outgoing(resp, Kind::V2);
        assert_eq!(out.cookies, Some(vec![]), "payload 2.0 always carries `cookies`");
        assert!(out.is_base64_encoded);
        assert_eq!(BASE64.decode(&out.body).ok(), Some(vec![0x89, b'P', b'N', b'G', 0x00, 0xff]));

        let out = outgoing(http::Response::new(Bytes::from_static("{\"ok\":\"é\"}".as_bytes())), Kind::V1);
        assert!(!out.is_base64_encoded);
        assert_eq!(out.body, "{\"ok\":\"é\"}");
    }

    #[test]
    fn payload_2_response_joins_repeated_headers_and_moves_cookies() {
        let mut resp = http::Response::new(Bytes::from_static(b"nope"));
        *resp.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        let h = resp.headers_mut();
        h.append("vary", HeaderValue::from_static("origin"));
        h.append("vary", HeaderValue::from_static("accept-encoding"));
        h.append(SET_COOKIE, HeaderValue::from_static("a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"));
        h.append(SET_COOKIE, HeaderValue::from_static("b=2"));
        h.append("x-bad", HeaderValue::from_bytes(&[0xe9]).expect("obs-text is a valid header value"));
        let json = serde_json::to_value(outgoing(resp.clone(), Kind::V2)).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "statusCode": 429,
                "headers": { "vary": "origin, accept-encoding" },
                "cookies": ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
                "body": "nope",
                "isBase64Encoded": false,
            })
        );
        let json = serde_json::to_value(outgoing(resp, Kind::V1)).expect("serialises");
        assert_eq!(json["multiValueHeaders"]["vary"], serde_json::json!(["origin", "accept-encoding"]));
        assert_eq!(json["multiValueHeaders"]["set-cookie"].as_array().map(Vec::len), Some(2));
        assert!(json.get("headers").is_none());
    }
}
