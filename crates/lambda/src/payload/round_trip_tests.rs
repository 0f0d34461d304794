//! Round trips of the payload types: what is read is written back as it
//! was read, what is written reads back the same; and the odd values the
//! readers tolerate.

use super::*;
use http::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const FIXTURES: [(&str, &str); 5] = [
    ("function_url_get", include_str!("../../tests/data/function_url_get.json")),
    ("apigw_v2_post_base64", include_str!("../../tests/data/apigw_v2_post_base64.json")),
    ("apigw_rest_put", include_str!("../../tests/data/apigw_rest_put.json")),
    ("alb_get", include_str!("../../tests/data/alb_get.json")),
    ("alb_multi_value", include_str!("../../tests/data/alb_multi_value.json")),
];

#[test]
fn every_documented_event_reads_writes_and_reads_back_the_same() {
    for (name, json) in FIXTURES {
        let event: Event = serde_json::from_str(json).expect(name);
        let written = serde_json::to_string(&event).expect(name);
        let again: Event = serde_json::from_str(&written).expect(name);
        assert_eq!(again, event, "{name}");
        assert_eq!(again.kind(), event.kind(), "{name}");
    }
}

#[test]
fn kinds_are_told_apart() {
    let kind = |value: Value| serde_json::from_value::<Event>(value).expect("event").kind();
    assert_eq!(kind(json!({"version": "2.0"})), Kind::V2);
    assert_eq!(kind(json!({"version": "1.0"})), Kind::V1);
    assert_eq!(kind(json!({})), Kind::V1);
    assert_eq!(kind(json!({"requestContext": {"elb": {}}})), Kind::Alb { multi_value: false });
    assert_eq!(kind(json!({"requestContext": {"elb": "odd"}})), Kind::Alb { multi_value: false });
    assert_eq!(kind(json!({"requestContext": {"elb": null}})), Kind::V1);
    let multi = json!({"version": "2.0", "requestContext": {"elb": {}}, "multiValueHeaders": {"a": ["1"]}});
    assert_eq!(kind(multi), Kind::Alb { multi_value: true });
}

/// Fields the gateway only writes are not read: whatever a platform's event
/// holds there (another type, a key twice) is skipped, as unknown fields are.
#[test]
fn write_only_fields_are_not_read() {
    let text = r#"{
        "version": "2.0", "routeKey": {"odd": true}, "routeKey": 1, "rawPath": "/x",
        "requestContext": {
            "routeKey": 1, "stage": [], "requestId": 7, "requestId": 8, "timeEpoch": "soon",
            "http": {"method": "GET", "path": 5, "path": "/y", "protocol": null, "userAgent": {}}
        }
    }"#;
    let event: Event = serde_json::from_str(text).expect("reads");
    let context = event.request_context.expect("context");
    assert_eq!((event.route_key, context.route_key, context.stage, context.request_id), (None, None, None, None));
    assert_eq!(context.time_epoch, None);
    let http = context.http.expect("http");
    assert_eq!((http.method.as_deref(), http.path, http.protocol, http.user_agent), (Some("GET"), None, None, None));
    // Fields the gateway reads are typed: a method that is not a string, or
    // given twice, is an error (as before).
    assert!(serde_json::from_str::<Event>(r#"{"requestContext": {"http": {"method": 7}}}"#).is_err());
    assert!(serde_json::from_str::<Event>(r#"{"rawPath": "/a", "rawPath": "/b"}"#).is_err());
}

#[test]
fn an_event_written_leaves_out_what_it_does_not_have() {
    let written = serde_json::to_value(Event::default()).expect("json");
    assert_eq!(written, json!({"headers": {}}));
    let context = RequestContext { http: Some(HttpDescription::default()), ..RequestContext::default() };
    let written = serde_json::to_value(context).expect("json");
    // The payload 2.0 fields invokes have always carried, null when unknown.
    assert_eq!(written, json!({"domainName": null, "requestId": null, "http": {"sourceIp": null, "userAgent": null}}));
}

fn proxy(status: u16) -> ProxyResponse {
    ProxyResponse { status_code: StatusCode::from_u16(status).expect("status"), ..ProxyResponse::default() }
}

#[test]
fn a_proxy_response_written_reads_back_the_same() {
    let full = ProxyResponse {
        headers: Some(BTreeMap::from([("content-type".into(), "text/plain".into())])),
        multi_value_headers: Some(BTreeMap::from([("vary".into(), vec!["a".into(), "b".into()])])),
        cookies: Some(vec!["a=1; Path=/".into()]),
        body: Body::Text("aGk=".into()),
        is_base64_encoded: true,
        ..proxy(201)
    };
    let json_body = ProxyResponse { body: Body::Json(json!({"a": [1, null]})), ..proxy(200) };
    for response in [full, json_body, proxy(204), proxy(999)] {
        let bytes = serde_json::to_vec(&response).expect("serialises");
        match Answer::read(&bytes) {
            Ok(Answer::Proxy(read)) => assert_eq!(read, response),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_proxy_response_is_written_as_each_integration_reads_it() {
    let written = serde_json::to_value(proxy(404)).expect("json");
    assert_eq!(written, json!({"statusCode": 404, "body": "", "isBase64Encoded": false}));
    let text = serde_json::to_string(&ProxyResponse {
        status_description: Some("404 Not Found".into()),
        headers: Some(BTreeMap::new()),
        cookies: Some(vec![]),
        ..proxy(404)
    })
    .expect("json");
    assert_eq!(
        text,
        r#"{"statusCode":404,"statusDescription":"404 Not Found","headers":{},"cookies":[],"body":"","isBase64Encoded":false}"#
    );
}

#[test]
fn answers_are_told_apart_as_api_gateway_does() {
    for plain in ["{}", "[]", "null", "\"statusCode\"", r#"{"nested":{"statusCode":200}}"#] {
        assert!(matches!(Answer::read(plain.as_bytes()), Ok(Answer::Json)), "{plain}");
    }
    for bad in ["", "{", "nope", r#"{"statusCode":null}"#, r#"{"statusCode":"20x"}"#, r#"{"statusCode":1000}"#] {
        assert!(Answer::read(bad.as_bytes()).is_err(), "{bad}");
    }
    let read = |json: &str| match Answer::read(json.as_bytes()) {
        Ok(Answer::Proxy(p)) => p,
        other => panic!("{json}: {other:?}"),
    };
    assert_eq!(read(r#"{"statusCode":" 201 "}"#).status_code, StatusCode::CREATED);
    assert_eq!(read(r#"{"statusCode":200,"body":null}"#).body, Body::default());
    assert_eq!(read(r#"{"statusCode":200,"body":12.5}"#).body, Body::Json(json!(12.5)));
    assert!(!read(r#"{"statusCode":200,"isBase64Encoded":null}"#).is_base64_encoded);
    assert_eq!(read(r#"{"statusCode":200,"statusDescription":"200 OK"}"#).status_description, None, "write-only");
    assert_eq!(read(r#"{"statusCode":200,"statusDescription":5}"#).status_description, None);
}

#[test]
fn header_values_are_read_as_api_gateway_reads_them() {
    let read = |json: Value| match Answer::read(json.to_string().as_bytes()) {
        Ok(Answer::Proxy(p)) => p,
        other => panic!("{json}: {other:?}"),
    };
    let p = read(json!({"statusCode": 200, "headers": {"a": 1.5, "b": 1e21, "c": -7, "d": true, "e": null, "f": ""}}));
    let single: Vec<(&str, &str)> = p.headers.iter().flatten().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(single, [("a", "1.5"), ("b", "1e+21"), ("c", "-7"), ("d", "true"), ("f", "")]);
    let p = read(json!({"statusCode": 200, "multiValueHeaders": {"x": ["a", null, 2, false], "y": null, "z": "one"}}));
    let multi = p.multi_value_headers.unwrap_or_default();
    assert_eq!(multi.get("x"), Some(&vec!["a".to_owned(), "2".into(), "false".into()]));
    assert_eq!(multi.get("y"), Some(&vec![]), "a null entry stays, empty: it still replaces `headers`");
    assert_eq!(multi.get("z"), Some(&vec!["one".to_owned()]));
    for bad in [
        json!({"statusCode": 200, "headers": {"x": ["a"]}}),
        json!({"statusCode": 200, "headers": {"x": {"a": 1}}}),
        json!({"statusCode": 200, "multiValueHeaders": {"x": [["a"]]}}),
        json!({"statusCode": 200, "multiValueHeaders": {"x": {"a": 1}}}),
        json!({"statusCode": 200, "headers": []}),
    ] {
        assert!(Answer::read(bad.to_string().as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn a_function_failure_is_read_from_an_object_only() {
    let failure = FunctionFailure::read(br#"{"errorType":"E","errorMessage":3}"#).expect("an object");
    assert_eq!((failure.error_type.as_deref(), failure.error_message), (Some("E"), None));
    assert_eq!(FunctionFailure::read(br#"["E","m"]"#), None);
    assert_eq!(FunctionFailure::read(b"\xff"), None);
}
