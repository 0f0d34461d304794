//! Tests of [`super::outgoing`]: the core's response as each integration
//! expects it.

use super::outgoing;
use crate::payload::{Body, Kind};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::HeaderValue;
use http::header::SET_COOKIE;

#[test]
fn binary_bodies_go_out_as_base64_and_text_as_text() {
    let mut resp = http::Response::new(Bytes::from_static(&[0x89, b'P', b'N', b'G', 0x00, 0xff]));
    resp.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=iso-8859-1"));
    let out = outgoing(resp, Kind::V2);
    assert_eq!(out.cookies, Some(vec![]), "payload 2.0 always carries `cookies`");
    assert!(out.is_base64_encoded);
    let Body::Text(encoded) = &out.body else { panic!("a text body") };
    assert_eq!(BASE64.decode(encoded).ok(), Some(vec![0x89, b'P', b'N', b'G', 0x00, 0xff]));

    let out = outgoing(http::Response::new(Bytes::from_static("{\"ok\":\"é\"}".as_bytes())), Kind::V1);
    assert!(!out.is_base64_encoded);
    assert_eq!(out.body, Body::Text("{\"ok\":\"é\"}".into()));
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
