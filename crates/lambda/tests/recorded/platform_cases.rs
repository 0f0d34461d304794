//! The platform events and core responses whose conversions were recorded
//! (tests/data/recorded/platform_*.json): AWS's documented events, each
//! edited into odd variants, and responses with every header case.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};

const FUNCTION_URL: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/function_url_get.json"));
const HTTP_API_POST: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/apigw_v2_post_base64.json"));
const REST_API: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/apigw_rest_put.json"));
const ALB: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/alb_get.json"));
const ALB_MULTI: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/alb_multi_value.json"));

fn edit(base: &str, from: &str, to: &str) -> String {
    let out = base.replacen(from, to, 1);
    assert_ne!(out, base, "edit did not apply: {from}");
    out
}

pub fn platform_events() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("function_url".into(), FUNCTION_URL.into()),
        ("http_api_post".into(), HTTP_API_POST.into()),
        ("rest_api".into(), REST_API.into()),
        ("alb".into(), ALB.into()),
        ("alb_multi".into(), ALB_MULTI.into()),
    ];
    let q = "\"rawQueryString\": \"q=a%20b&q=c+d&empty=&raw=%2F\"";
    let p = "\"rawPath\": \"/public/%2e%2e/admin//x/..%2Fy\"";
    let m = "\"method\": \"GET\"";
    let rid = "\"x-request-id\": \"req-123\"";
    let b64 = "\"isBase64Encoded\": false";
    let furl_edits: Vec<(&str, &str, String)> = vec![
        ("query_quotes", q, "\"rawQueryString\": \"a=\\\"x\\\"<y>\"".into()),
        ("query_space", q, "\"rawQueryString\": \"a=b c\"".into()),
        ("query_null", q, "\"rawQueryString\": null".into()),
        ("path_relative", p, "\"rawPath\": \"relative\"".into()),
        ("path_empty", p, "\"rawPath\": \"\"".into()),
        ("path_null", p, "\"rawPath\": null".into()),
        ("path_number", p, "\"rawPath\": 5".into()),
        ("method_spaces", m, "\"method\": \"G E T\"".into()),
        ("method_empty", m, "\"method\": \"\"".into()),
        ("method_null", m, "\"method\": null".into()),
        ("method_number", m, "\"method\": 7".into()),
        ("method_lower", m, "\"method\": \"get\"".into()),
        ("method_custom", m, "\"method\": \"PURGE\"".into()),
        ("header_nul", rid, format!("{rid}, \"bad\": \"a\\u0000b\"")),
        ("header_bad_name", rid, format!("{rid}, \"bad name\": \"x\"")),
        ("header_number", rid, format!("{rid}, \"x-n\": 5")),
        ("header_null", rid, format!("{rid}, \"x-n\": null")),
        ("header_non_ascii", rid, format!("{rid}, \"x-u\": \"caf\\u00e9\"")),
        ("header_cookie_too", rid, format!("{rid}, \"cookie\": \"a=1; b=2\"")),
        ("header_duplicate_names", rid, format!("{rid}, \"X-Dup\": \"1\", \"x-dup\": \"2\"")),
        ("body_bad_base64", b64, "\"isBase64Encoded\": true, \"body\": \"***\"".into()),
        ("body_base64_whitespace", b64, "\"isBase64Encoded\": true, \"body\": \" aGk= \"".into()),
        ("body_text", b64, "\"isBase64Encoded\": false, \"body\": \"h\\u00e9\"".into()),
        ("base64_null", b64, "\"isBase64Encoded\": null, \"body\": \"aGk=\"".into()),
        ("base64_string", b64, "\"isBase64Encoded\": \"true\"".into()),
        ("cookies_empty", "\"cookies\": [\"a=1\", \"b=2\"]", "\"cookies\": []".into()),
        ("cookies_null", "\"cookies\": [\"a=1\", \"b=2\"]", "\"cookies\": null".into()),
        ("cookies_number", "\"cookies\": [\"a=1\", \"b=2\"]", "\"cookies\": [1]".into()),
        ("cookie_bad_value", "\"cookies\": [\"a=1\", \"b=2\"]", "\"cookies\": [\"a=\\u0001\"]".into()),
        ("headers_null", "\"headers\": {", "\"headers\": null, \"ignored\": {".into()),
        ("headers_array", "\"headers\": {", "\"headers\": [], \"ignored\": {".into()),
        ("context_null", "\"requestContext\": {", "\"requestContext\": null, \"ignored\": {".into()),
        ("http_null", "\"http\": {", "\"http\": null, \"ignored\": {".into()),
        ("source_ip_bad", "\"sourceIp\": \"198.51.100.7\"", "\"sourceIp\": \"not an ip\"".into()),
        ("source_ip_spaces", "\"sourceIp\": \"198.51.100.7\"", "\"sourceIp\": \" 198.51.100.8 \"".into()),
        ("source_ip_number", "\"sourceIp\": \"198.51.100.7\"", "\"sourceIp\": 5".into()),
        ("domain_bad", "\"domainName\": \"abcdefg.lambda-url.us-east-1.on.aws\"", "\"domainName\": \"a\\nb\"".into()),
        ("time_epoch_string", "\"timeEpoch\": 1773342238000", "\"timeEpoch\": \"soon\"".into()),
        ("time_epoch_float", "\"timeEpoch\": 1773342238000", "\"timeEpoch\": -1.5".into()),
        ("request_id_number", "\"requestId\": \"id-0001\"", "\"requestId\": 1".into()),
        ("route_key_object", "\"routeKey\": \"$default\",\n  \"rawPath\"", "\"routeKey\": {},\n  \"rawPath\"".into()),
        ("stage_array", "\"stage\": \"$default\"", "\"stage\": []".into()),
        ("http_extras_odd", "\"protocol\": \"HTTP/1.1\"", "\"protocol\": 1, \"userAgent\": {}, \"path\": []".into()),
        ("version_number", "\"version\": \"2.0\"", "\"version\": 2".into()),
        ("version_1", "\"version\": \"2.0\"", "\"version\": \"1.0\"".into()),
        ("duplicate_raw_path", p, format!("{p}, \"rawPath\": \"/other\"")),
        ("x_forwarded_proto_http", "\"x-forwarded-proto\": \"https\"", "\"x-forwarded-proto\": \" HTTPS \"".into()),
        ("no_host_header", "\"host\": \"abcdefg.lambda-url.us-east-1.on.aws\",", "".into()),
        ("elb_null", "\"requestContext\": {", "\"requestContext\": {\"elb\": null,".into()),
        ("elb_string", "\"requestContext\": {", "\"requestContext\": {\"elb\": \"x\",".into()),
        (
            "query_params_ignored_odd",
            "\"queryStringParameters\": {",
            "\"queryStringParameters\": null, \"ignored\": {".into(),
        ),
    ];
    for (name, from, to) in furl_edits {
        out.push((format!("function_url/{name}"), edit(FUNCTION_URL, from, &to)));
    }
    for raw in [
        "//admin",
        "/%61dmin",
        "/a%2Fb",
        "/a%5Cb",
        "/a%00b",
        "/public/../admin",
        "/a;b",
        "/%zz",
        "/caf\u{e9}",
        "/a b",
        "/a\\\\b",
        "/a#b",
        "/?x",
    ] {
        out.push((format!("function_url/raw_path {raw}"), FUNCTION_URL.replace("/public/%2e%2e/admin//x/..%2Fy", raw)));
    }
    let rest_edits: Vec<(&str, &str, String)> = vec![
        ("multi_headers_empty", "\"multiValueHeaders\": {", "\"multiValueHeaders\": {}, \"ignored\": {".into()),
        ("multi_headers_null", "\"multiValueHeaders\": {", "\"multiValueHeaders\": null, \"ignored\": {".into()),
        (
            "multi_query_empty",
            "\"multiValueQueryStringParameters\": {",
            "\"multiValueQueryStringParameters\": {}, \"ignored\": {".into(),
        ),
        ("multi_query_null_value", "\"q\": [\"a b&c\"]", "\"q\": null".into()),
        ("query_unicode", "\"q\": [\"a b&c\"]", "\"q\": [\"\\u00e9=\\u00fc\"], \"\\u00e9\": [\"\"]".into()),
        ("path_percent_kept", "\"path\": \"/v1/users/42/a b?/../%2e\"", "\"path\": \"/x%zz/%41/\\u00e9#f\"".into()),
        ("path_relative", "\"path\": \"/v1/users/42/a b?/../%2e\"", "\"path\": \"v1\"".into()),
        ("method_missing", "\"httpMethod\": \"PUT\",\n  \"headers\"", "\"headers\"".into()),
        ("identity_null", "\"identity\": {", "\"identity\": null, \"ignored\": {".into()),
        ("multi_header_bad_value", "\"X-Multi\": [\"one\", \"two\"]", "\"X-Multi\": [\"one\", \"t\\u0000wo\"]".into()),
        ("multi_header_not_array", "\"X-Multi\": [\"one\", \"two\"]", "\"X-Multi\": \"one\"".into()),
        ("stage_variables_odd", "\"stageVariables\": null", "\"stageVariables\": 5".into()),
        ("base64_body", "\"isBase64Encoded\": false", "\"isBase64Encoded\": true".into()),
    ];
    for (name, from, to) in rest_edits {
        out.push((format!("rest_api/{name}"), edit(REST_API, from, &to)));
    }
    let alb_edits: Vec<(&str, &str, String)> = vec![
        (
            "xff_bad_last",
            "\"x-forwarded-for\": \"6.6.6.6, 72.12.164.125\"",
            "\"x-forwarded-for\": \"72.12.164.125, x\"".into(),
        ),
        ("query_raw_kept", "\"q\": \"a%20b\"", "\"q\": \"a%20b\", \"r\": \"%zz\"".into()),
        ("query_invalid_uri", "\"q\": \"a%20b\"", "\"q\": \"a b\"".into()),
        ("https", "\"x-forwarded-proto\": \"http\"", "\"x-forwarded-proto\": \"https\"".into()),
        ("no_host", "\"host\": \"lambda-alb-123578498.us-east-1.elb.amazonaws.com\",", "".into()),
    ];
    for (name, from, to) in alb_edits {
        out.push((format!("alb/{name}"), edit(ALB, from, &to)));
    }
    for (name, json) in [
        ("empty_object", "{}"),
        ("null", "null"),
        ("array", "[]"),
        ("string", "\"x\""),
        ("v2_minimal", r#"{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"GET"}}}"#),
        ("v2_no_context", r#"{"version":"2.0","rawPath":"/x"}"#),
        ("v1_minimal", r#"{"httpMethod":"GET","path":"/x"}"#),
        (
            "alb_minimal",
            r#"{"httpMethod":"POST","path":"/x","requestContext":{"elb":{}},"body":"aGk=","isBase64Encoded":true}"#,
        ),
        (
            "alb_multi_empty_lists",
            r#"{"httpMethod":"GET","path":"/x","requestContext":{"elb":{}},"multiValueHeaders":{"x":[]}}"#,
        ),
        (
            "alb_multi_query_order",
            r#"{"httpMethod":"GET","path":"/x","requestContext":{"elb":{}},"multiValueHeaders":{"x":["1"]},"multiValueQueryStringParameters":{"z":["1","0"],"a":["2"],"m":[]}}"#,
        ),
        ("v1_query_order", r#"{"httpMethod":"GET","path":"/x","queryStringParameters":{"z":"1","a":"2","m":"3"}}"#),
    ] {
        out.push((format!("other/{name}"), json.into()));
    }
    out
}

pub fn platform_responses() -> Vec<(&'static str, Response<Bytes>)> {
    let mut full = Response::new(Bytes::from_static(b"nope"));
    *full.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let h = full.headers_mut();
    h.append("vary", HeaderValue::from_static("origin"));
    h.append("vary", HeaderValue::from_static("accept-encoding"));
    h.append("set-cookie", HeaderValue::from_static("a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"));
    h.append("set-cookie", HeaderValue::from_static("b=2"));
    h.append("x-bad", HeaderValue::from_bytes(&[0xe9]).expect("obs-text"));
    h.append("x-half", HeaderValue::from_bytes(&[0xe9]).expect("obs-text"));
    h.append("x-half", HeaderValue::from_static("ok"));
    h.append("content-type", HeaderValue::from_static("text/plain"));
    let mut binary = Response::new(Bytes::from_static(&[0x89, b'P', b'N', b'G', 0x00, 0xff]));
    binary.headers_mut().insert("content-type", HeaderValue::from_static("image/png"));
    let mut one_cookie = Response::new(Bytes::from_static("{\"ok\":\"\u{e9}\"}".as_bytes()));
    one_cookie.headers_mut().insert("set-cookie", HeaderValue::from_static("only=1"));
    let mut odd_status = Response::new(Bytes::new());
    *odd_status.status_mut() = StatusCode::from_u16(599).expect("status");
    let mut no_reason = Response::new(Bytes::new());
    *no_reason.status_mut() = StatusCode::from_u16(299).expect("status");
    vec![
        ("full", full),
        ("binary", binary),
        ("one_cookie_text", one_cookie),
        ("empty", Response::new(Bytes::new())),
        ("status_599", odd_status),
        ("status_299", no_reason),
    ]
}
