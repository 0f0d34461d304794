//! Tests of [`super::incoming`]: events as AWS documents them (tests/data)
//! and odd ones, converted or refused, never a panic.

use super::client::alb_client;
use super::{Converted, Incoming, incoming, outgoing};
use crate::payload::{Event, Kind};
use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Method};
use std::net::{IpAddr, Ipv4Addr};

const FUNCTION_URL: &str = include_str!("../../tests/data/function_url_get.json");
const HTTP_API_POST: &str = include_str!("../../tests/data/apigw_v2_post_base64.json");
const REST_API: &str = include_str!("../../tests/data/apigw_rest_put.json");
const ALB: &str = include_str!("../../tests/data/alb_get.json");
const ALB_MULTI: &str = include_str!("../../tests/data/alb_multi_value.json");

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
    assert_eq!(inc.client.host.as_ref().map(HeaderValue::as_bytes), Some(&b"abcdefg.lambda-url.us-east-1.on.aws"[..]));
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
    for raw in ["//admin", "/%61dmin", "/a%2Fb", "/a%5Cb", "/a%00b", "/public/../admin", "/a;b", "/%zz", "/caf\u{e9}"] {
        let json = FUNCTION_URL.replace("/public/%2e%2e/admin//x/..%2Fy", raw);
        let inc = event(&json);
        assert_eq!(ok(&inc).uri().path(), raw);
    }
}
