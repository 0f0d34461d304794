//! Tests of [`super::invoke_event`]: the JSON a function gets, field by
//! field and against the shape of AWS's own HTTP API events (tests/data).

use super::*;
use serde_json::{Value, json};
use std::time::Duration;

const FUNCTION_URL: &str = include_str!("../../tests/data/function_url_get.json");
const HTTP_API_POST: &str = include_str!("../../tests/data/apigw_v2_post_base64.json");

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::copy_from_slice(body)).expect("request")
}

/// The event as the function receives it.
fn written(request: &Request<Bytes>, now: SystemTime) -> Value {
    serde_json::to_value(invoke_event(request, now)).expect("an event serialises")
}

fn full_request() -> Request<Bytes> {
    request(
        "POST",
        "http://lambda.internal/v1/price/%7Bx%7D?a=1&a=2&b=x%20y&c",
        &[
            ("X-Request-Id", "req-1"),
            ("Accept", "text/plain"),
            ("accept", "application/json"),
            ("cookie", "a=1; b=2"),
            ("x-forwarded-for", "203.0.113.9, 198.51.100.7"),
            ("x-forwarded-host", "api.example.com"),
            ("user-agent", "curl/8"),
        ],
        b"{\"n\":1}",
    )
}

#[test]
fn the_event_is_an_http_api_v2_event() {
    let event = written(&full_request(), UNIX_EPOCH + Duration::from_millis(1_234));
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/v1/price/%7Bx%7D");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y&c");
    assert_eq!(event["queryStringParameters"], json!({"a": "1,2", "b": "x y", "c": ""}));
    assert_eq!(event["headers"]["accept"], "text/plain,application/json");
    assert_eq!(event["headers"]["x-request-id"], "req-1");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    let http = &event["requestContext"]["http"];
    assert_eq!(http["method"], "POST");
    assert_eq!(http["path"], "/v1/price/%7Bx%7D");
    assert_eq!(http["sourceIp"], "198.51.100.7");
    assert_eq!(http["protocol"], "HTTP/1.1");
    assert_eq!(http["userAgent"], "curl/8");
    assert_eq!(event["requestContext"]["requestId"], "req-1");
    assert_eq!(event["requestContext"]["domainName"], "api.example.com");
    assert_eq!(event["requestContext"]["routeKey"], "$default");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["requestContext"]["timeEpoch"], 1_234);
    assert_eq!(event["body"], "{\"n\":1}");
    assert_eq!(event["isBase64Encoded"], false);
    // Nothing of payload 1.0 or ALB.
    for absent in ["httpMethod", "path", "multiValueHeaders", "multiValueQueryStringParameters"] {
        assert!(event.get(absent).is_none(), "{absent}");
    }
}

#[test]
fn binary_bodies_are_base64_and_empty_ones_absent() {
    let event = written(&request("PUT", "http://lambda.internal/b", &[], &[0xff, 0x00, 0x80]), UNIX_EPOCH);
    assert_eq!(event["body"], "/wCA");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["rawQueryString"], "");
    let event = written(&request("GET", "http://lambda.internal/", &[], b""), UNIX_EPOCH);
    assert!(event.get("body").is_none());
    assert!(event.get("queryStringParameters").is_none());
    assert!(event.get("cookies").is_none());
    assert_eq!(event["headers"], json!({}), "always present");
    assert_eq!(event["isBase64Encoded"], false);
    // Unknown client, request id and agent: present, null.
    let context = event["requestContext"].as_object().expect("context");
    assert_eq!(context.get("requestId"), Some(&Value::Null));
    let http = context["http"].as_object().expect("http");
    assert_eq!((http.get("sourceIp"), http.get("userAgent")), (Some(&Value::Null), Some(&Value::Null)));
}

#[test]
fn query_parameters_are_decoded_and_joined_like_api_gateway() {
    let params = query_parameters("q=a+b&%61=1&a=2&k&&=v&e=%zz&u=%C3%A9&bad=%FF&q=");
    let expected = [("", "v"), ("a", "1,2"), ("bad", "\u{fffd}"), ("e", "%zz"), ("k", ""), ("q", "a b,"), ("u", "é")];
    let got: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, expected);
}

/// JSON's type names, for comparing shapes.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every path under `ours` that is a fixed field of the format (not a key of
/// `headers` or `queryStringParameters`), with its JSON type.
fn shape(value: &Value, at: &str, out: &mut Vec<(String, &'static str)>) {
    out.push((at.to_owned(), kind_of(value)));
    if let Value::Object(map) = value {
        if at.ends_with("/headers") || at.ends_with("/queryStringParameters") {
            return;
        }
        for (key, child) in map {
            shape(child, &format!("{at}/{key}"), out);
        }
    }
}

/// What the function expects is what AWS sends: every field the gateway
/// writes is a field of AWS's documented HTTP API / function URL events, of
/// the same JSON type (or null, where the gateway does not know it).
#[test]
fn every_field_written_is_one_aws_sends_with_the_same_type() {
    let mut documented = Vec::new();
    for fixture in [FUNCTION_URL, HTTP_API_POST] {
        let value: Value = serde_json::from_str(fixture).expect("fixture");
        shape(&value, "", &mut documented);
    }
    for request in [full_request(), request("GET", "/x", &[], &[0xff])] {
        let mut ours = Vec::new();
        shape(&written(&request, UNIX_EPOCH + Duration::from_secs(1)), "", &mut ours);
        assert!(ours.len() > 15, "{ours:?}");
        for (path, kind) in ours {
            let fits = documented.iter().any(|(p, k)| *p == path && (*k == kind || kind == "null"));
            assert!(fits, "{path} ({kind}) is not in AWS's events");
        }
    }
}

/// The event reads back into the same typed event, less the write-only
/// fields (tests/invoke_round_trip.rs reads it back into the same request).
#[test]
fn the_written_event_reads_back_the_same() {
    for request in [full_request(), request("DELETE", "http://lambda.internal/", &[("cookie", ";;")], &[0, 0xff])] {
        let event = invoke_event(&request, UNIX_EPOCH + Duration::from_millis(5));
        let bytes = serde_json::to_vec(&event).expect("serialises");
        let read: Event = serde_json::from_slice(&bytes).expect("reads back");
        let mut expected = event.clone();
        expected.route_key = None;
        if let Some(context) = expected.request_context.as_mut() {
            (context.route_key, context.stage, context.request_id, context.time_epoch) = (None, None, None, None);
            if let Some(http) = context.http.as_mut() {
                (http.path, http.protocol, http.user_agent) = (None, None, None);
            }
        }
        assert_eq!(read, expected);
        assert_eq!(read.kind(), crate::payload::Kind::V2);
    }
}
