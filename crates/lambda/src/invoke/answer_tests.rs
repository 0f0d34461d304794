//! Tests of [`super::response_of`]: a function's answer read as API Gateway
//! reads it; whatever it holds, a response or a protocol error, never a
//! panic.

use super::*;
use http::StatusCode;
use serde_json::{Value, json};

fn answer(value: Value) -> Result<Response<Bytes>, UpstreamError> {
    response_of(value.to_string().as_bytes())
}

#[test]
fn a_proxy_response_becomes_the_http_response() {
    let resp = answer(json!({
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "x-n": 3, "x-multi": "ignored", "content-length": "999"},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "cookies": ["s=1; Path=/", "t=2"],
        "body": "created",
    }))
    .expect("response");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.headers()["x-n"], "3");
    let multi: Vec<_> = resp.headers().get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b"]);
    let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["s=1; Path=/", "t=2"]);
    assert!(resp.headers().get("content-length").is_none());
    assert_eq!(resp.body().as_ref(), b"created");
}

#[test]
fn base64_bodies_are_decoded_and_status_strings_read() {
    let resp = answer(json!({"statusCode": "503", "body": "/wCA", "isBase64Encoded": true})).expect("response");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.body().as_ref(), [0xff, 0x00, 0x80]);
    let resp = answer(json!({"statusCode": 204})).expect("response");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.body().is_empty());
    let resp = answer(json!({"statusCode": 200, "body": {"a": 1}})).expect("response");
    assert_eq!(resp.body().as_ref(), b"{\"a\":1}");
}

#[test]
fn plain_json_is_a_200_json_body() {
    for payload in ["{\"price\":12}", "[1,2]", "\"hello\"", "null", "42"] {
        let resp = response_of(payload.as_bytes()).expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.body().as_ref(), payload.as_bytes());
    }
}

#[test]
fn unreadable_answers_are_protocol_errors() {
    for payload in [
        "not json".to_owned(),
        String::new(),
        json!({"statusCode": 99}).to_string(),
        json!({"statusCode": 1000}).to_string(),
        json!({"statusCode": -1}).to_string(),
        json!({"statusCode": "abc"}).to_string(),
        json!({"statusCode": null}).to_string(),
        json!({"statusCode": 200.5}).to_string(),
        json!({"statusCode": 200, "headers": []}).to_string(),
        json!({"statusCode": 200, "headers": {"bad name": "x"}}).to_string(),
        json!({"statusCode": 200, "headers": {"x": "a\nb"}}).to_string(),
        json!({"statusCode": 200, "headers": {"x": {"y": 1}}}).to_string(),
        json!({"statusCode": 200, "multiValueHeaders": "x"}).to_string(),
        json!({"statusCode": 200, "cookies": "a=1"}).to_string(),
        json!({"statusCode": 200, "cookies": [1]}).to_string(),
        json!({"statusCode": 200, "isBase64Encoded": "yes"}).to_string(),
        json!({"statusCode": 200, "body": "!!", "isBase64Encoded": true}).to_string(),
    ] {
        match response_of(payload.as_bytes()) {
            Err(UpstreamError::Protocol(_)) => {}
            other => panic!("{payload}: {other:?}"),
        }
    }
}

#[test]
fn the_payload_cap_is_checked_before_parsing() {
    let mut big = vec![b' '; MAX_PAYLOAD + 1];
    big[0] = b'1';
    assert!(matches!(response_of(&big), Err(UpstreamError::Protocol(m)) if m.contains("larger than")));
}

#[test]
fn errors_name_the_field_that_does_not_fit() {
    let message = |value: Value| match answer(value) {
        Err(UpstreamError::Protocol(m)) => m,
        other => panic!("{other:?}"),
    };
    let m = message(json!({"statusCode": 200, "headers": {"x-a": {"b": 1}}}));
    assert!(m.contains("headers.x-a"), "{m}");
    assert!(message(json!({"statusCode": "abc"})).contains("statusCode"));
    assert!(message(json!({"statusCode": 200, "cookies": [1]})).contains("cookies"));
    // A hostile header name is shortened in the message.
    let long = "n".repeat(10_000);
    assert!(message(json!({"statusCode": 200, "headers": {long: [1]}})).chars().count() < 400);
    assert!(message(json!({"statusCode": 200, "headers": {"x y": "1"}})).contains("invalid header name"));
}
