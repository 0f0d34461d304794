//! The invoke payloads end to end, without AWS: the event the gateway sends
//! a function reads back — as a Tollgate on Lambda would read it from a
//! platform — into the request the gateway sent, and a response the gateway
//! writes for a platform reads back — as it reads an invoked function's
//! answer — into the response it wrote.

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use std::time::{Duration, UNIX_EPOCH};
use tollgate_lambda::convert::{Converted, incoming, outgoing};
use tollgate_lambda::invoke::{invoke_event, response_of};
use tollgate_lambda::payload::{Event, Kind};

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::copy_from_slice(body)).expect("request")
}

#[test]
fn the_event_a_function_gets_reads_back_into_the_request_sent() {
    let cases = [
        request(
            "POST",
            "http://lambda.internal/v1/a%2Fb/%7Bx%7D?a=1&a=2&b=x%20y&c",
            &[
                ("x-request-id", "r-1"),
                ("accept", "text/plain"),
                ("cookie", "a=1; b=2"),
                ("x-forwarded-for", "198.51.100.7"),
            ],
            b"{\"n\":1}",
        ),
        request("PUT", "http://lambda.internal/bin", &[("content-type", "application/octet-stream")], &[0xff, 0, 0x80]),
        request("GET", "http://lambda.internal/", &[], b""),
    ];
    for sent in cases {
        let bytes = serde_json::to_vec(&invoke_event(&sent, UNIX_EPOCH + Duration::from_secs(1))).expect("writes");
        let event: Event = serde_json::from_slice(&bytes).expect("reads");
        let read = incoming(event);
        assert_eq!(read.kind, Kind::V2);
        let Converted::Request(got) = read.request else { panic!("refused: {sent:?}") };
        assert_eq!(got.method(), sent.method());
        assert_eq!(got.uri().path_and_query(), sent.uri().path_and_query(), "path and query byte for byte");
        assert_eq!(got.headers(), sent.headers());
        assert_eq!(got.body(), sent.body());
        let client = sent.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()?.parse().ok());
        assert_eq!(read.client.peer_ip, client);
    }
}

#[test]
fn a_response_written_for_a_platform_reads_back_as_the_same_answer() {
    let mut full = Response::new(Bytes::from_static(&[0x89, b'P', 0, 0xff]));
    *full.status_mut() = StatusCode::CREATED;
    let h = full.headers_mut();
    h.append("content-type", HeaderValue::from_static("image/png"));
    h.append("vary", HeaderValue::from_static("origin"));
    h.append("vary", HeaderValue::from_static("accept"));
    h.append("set-cookie", HeaderValue::from_static("a=1; Path=/"));
    h.append("set-cookie", HeaderValue::from_static("b=2"));
    let mut text = Response::new(Bytes::from_static("caf\u{e9}".as_bytes()));
    *text.status_mut() = StatusCode::from_u16(599).expect("status");
    for sent in [full, text, Response::new(Bytes::new())] {
        // Payload 1.0 keeps every value; payload 2.0 moves cookies aside and
        // joins the rest (one `vary` line then).
        for kind in [Kind::V1, Kind::Alb { multi_value: true }, Kind::V2] {
            let bytes = serde_json::to_vec(&outgoing(sent.clone(), kind)).expect("writes");
            let got = response_of(&bytes).expect("reads");
            assert_eq!(got.status(), sent.status(), "{kind:?}");
            assert_eq!(got.body(), sent.body(), "{kind:?}");
            for name in sent.headers().keys() {
                let values = |r: &Response<Bytes>| r.headers().get_all(name).iter().cloned().collect::<Vec<_>>();
                if kind == Kind::V2 && name == "vary" {
                    assert_eq!(values(&got), [HeaderValue::from_static("origin, accept")]);
                } else {
                    assert_eq!(values(&got), values(&sent), "{kind:?} {name}");
                }
            }
        }
    }
}
