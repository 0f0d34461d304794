//! The requests and function answers whose invoke payloads were recorded
//! (tests/data/recorded/invoke_*.json).

use bytes::Bytes;
use http::{HeaderValue, Request};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn invoke_requests() -> Vec<(&'static str, Request<Bytes>, SystemTime)> {
    let at = UNIX_EPOCH + Duration::from_millis(1_234);
    let build = |method: &str, uri: &str, headers: &[(&str, &[u8])], body: &[u8]| {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, HeaderValue::from_bytes(value).expect("value"));
        }
        builder.body(Bytes::copy_from_slice(body)).expect("request")
    };
    vec![
        (
            "post_json",
            build(
                "POST",
                "http://lambda.internal/v1/price/%7Bx%7D?a=1&a=2&b=x%20y&c",
                &[
                    ("X-Request-Id", b"req-1"),
                    ("Accept", b"text/plain"),
                    ("accept", b"application/json"),
                    ("cookie", b"a=1; b=2"),
                    ("x-forwarded-for", b"203.0.113.9, 198.51.100.7"),
                    ("x-forwarded-host", b"api.example.com"),
                ],
                b"{\"n\":1}",
            ),
            at,
        ),
        ("put_binary", build("PUT", "http://lambda.internal/b", &[], &[0xff, 0x00, 0x80]), at),
        ("get_root", build("GET", "http://lambda.internal/", &[], b""), at),
        (
            "odd_headers_and_query",
            build(
                "GET",
                "http://lambda.internal/x?q=a+b&%61=1&a=2&k&&=v&e=%zz&u=%C3%A9&bad=%FF&q=",
                &[
                    ("user-agent", b"curl/8"),
                    ("cookie", b"a=1;; b=2 ;"),
                    ("cookie", b"c=3"),
                    ("cookie", b" ; "),
                    ("x-lossy", &[b'a', 0xff, b'b']),
                    ("x-forwarded-for", b"1.2.3.4, nonsense"),
                    ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                    ("x-empty", b""),
                ],
                b"",
            ),
            at,
        ),
        (
            "ipv6_client_last_line",
            build(
                "DELETE",
                "http://lambda.internal/v6",
                &[("x-forwarded-for", b"203.0.113.1"), ("x-forwarded-for", b"10.0.0.1, 2001:DB8:0::1 ")],
                b"",
            ),
            at,
        ),
        ("origin_form_no_host", build("GET", "/relative?x=1", &[("x-request-id", &[0xe9])], b""), at),
        ("utf8_text_body", build("PATCH", "http://lambda.internal/t", &[], "h\u{e9}llo".as_bytes()), at),
        (
            "lossy_forwarded_host",
            build(
                "GET",
                "http://lambda.internal/h",
                &[("x-forwarded-host", &[b'a', 0xfe]), ("user-agent", &[0xff])],
                b"",
            ),
            at,
        ),
        ("before_epoch", build("GET", "http://lambda.internal/", &[], b"x"), UNIX_EPOCH - Duration::from_secs(1)),
        ("only_cookie_separators", build("GET", "http://lambda.internal/", &[("cookie", b";;")], b""), at),
    ]
}

pub fn invoke_answers() -> Vec<(&'static str, String)> {
    let s = |x: &str| x.to_owned();
    vec![
        (
            "proxy_full",
            s(
                r#"{"statusCode":201,"headers":{"Content-Type":"text/plain","x-n":3,"x-multi":"ignored","content-length":"999"},"multiValueHeaders":{"x-multi":["a","b"]},"cookies":["s=1; Path=/","t=2"],"body":"created"}"#,
            ),
        ),
        ("status_string", s(r#"{"statusCode":"503","body":"/wCA","isBase64Encoded":true}"#)),
        ("status_string_spaces", s(r#"{"statusCode":" 201 "}"#)),
        ("status_204_no_body", s(r#"{"statusCode":204}"#)),
        ("body_object", s(r#"{"statusCode":200,"body":{"a":1,"b":[true,null]}}"#)),
        ("body_number", s(r#"{"statusCode":200,"body":12.50}"#)),
        ("body_bool", s(r#"{"statusCode":200,"body":false}"#)),
        ("body_array_base64_flag", s(r#"{"statusCode":200,"body":[1],"isBase64Encoded":true}"#)),
        ("body_null_base64", s(r#"{"statusCode":200,"body":null,"isBase64Encoded":true}"#)),
        ("body_base64_whitespace", s("{\"statusCode\":200,\"body\":\" /wCA \\n\",\"isBase64Encoded\":true}")),
        ("body_base64_inner_space", s(r#"{"statusCode":200,"body":"/w CA","isBase64Encoded":true}"#)),
        ("base64_null", s(r#"{"statusCode":200,"body":"x","isBase64Encoded":null}"#)),
        ("plain_object", s(r#"{"price":12}"#)),
        ("plain_array", s("[1,2]")),
        ("plain_string", s("\"hello\"")),
        ("plain_null", s("null")),
        ("plain_number", s("42")),
        ("plain_spaced", s("  { \"a\" : 1 }  ")),
        ("plain_status_in_nested", s(r#"{"x":{"statusCode":500}}"#)),
        ("not_json", s("not json")),
        ("empty", s("")),
        ("trailing_garbage", s("{} x")),
        ("status_99", s(r#"{"statusCode":99}"#)),
        ("status_100", s(r#"{"statusCode":100}"#)),
        ("status_999", s(r#"{"statusCode":999}"#)),
        ("status_1000", s(r#"{"statusCode":1000}"#)),
        ("status_negative", s(r#"{"statusCode":-1}"#)),
        ("status_text", s(r#"{"statusCode":"abc"}"#)),
        ("status_null", s(r#"{"statusCode":null}"#)),
        ("status_float", s(r#"{"statusCode":200.5}"#)),
        ("status_float_whole", s(r#"{"statusCode":200.0}"#)),
        ("status_bool", s(r#"{"statusCode":true}"#)),
        ("status_huge", s(r#"{"statusCode":18446744073709551616}"#)),
        ("status_u64_max", s(r#"{"statusCode":18446744073709551615}"#)),
        ("status_string_float", s(r#"{"statusCode":"200.0"}"#)),
        ("status_string_plus", s(r#"{"statusCode":"+200"}"#)),
        ("duplicate_status_last_wins", s(r#"{"statusCode":500,"statusCode":201}"#)),
        ("headers_array", s(r#"{"statusCode":200,"headers":[]}"#)),
        ("headers_string", s(r#"{"statusCode":200,"headers":"x"}"#)),
        ("headers_null", s(r#"{"statusCode":200,"headers":null,"multiValueHeaders":null,"cookies":null}"#)),
        ("header_bad_name", s(r#"{"statusCode":200,"headers":{"bad name":"x"}}"#)),
        ("header_bad_name_null_value", s(r#"{"statusCode":200,"headers":{"bad name":null}}"#)),
        ("header_newline", s(r#"{"statusCode":200,"headers":{"x":"a\nb"}}"#)),
        ("header_object", s(r#"{"statusCode":200,"headers":{"x":{"y":1}}}"#)),
        ("header_array", s(r#"{"statusCode":200,"headers":{"x":["a"]}}"#)),
        (
            "header_scalars",
            s(r#"{"statusCode":200,"headers":{"a":1.5,"b":1e21,"c":-7,"d":true,"e":null,"f":"","g":0.1}}"#),
        ),
        (
            "header_case_variants",
            s(r#"{"statusCode":200,"headers":{"content-type":"b","Content-Type":"a","X-A":"1","x-a":"2"}}"#),
        ),
        ("header_non_ascii", s(r#"{"statusCode":200,"headers":{"x":"caf\u00e9"}}"#)),
        (
            "header_framing",
            s(
                r#"{"statusCode":200,"headers":{"Transfer-Encoding":"chunked","Content-Length":"5"},"multiValueHeaders":{"content-length":["1","2"]}}"#,
            ),
        ),
        ("multi_string", s(r#"{"statusCode":200,"multiValueHeaders":"x"}"#)),
        ("multi_array", s(r#"{"statusCode":200,"multiValueHeaders":[]}"#)),
        ("multi_single_scalar", s(r#"{"statusCode":200,"multiValueHeaders":{"x":"one","n":5}}"#)),
        (
            "multi_null_removes_single",
            s(r#"{"statusCode":200,"headers":{"x":"single","y":"kept"},"multiValueHeaders":{"x":null}}"#),
        ),
        (
            "multi_empty_removes_single",
            s(r#"{"statusCode":200,"headers":{"X":"single"},"multiValueHeaders":{"x":[]}}"#),
        ),
        ("multi_null_elements", s(r#"{"statusCode":200,"multiValueHeaders":{"x":["a",null,2,false]}}"#)),
        ("multi_nested_array", s(r#"{"statusCode":200,"multiValueHeaders":{"x":[["a"]]}}"#)),
        ("multi_object_value", s(r#"{"statusCode":200,"multiValueHeaders":{"x":{"a":1}}}"#)),
        ("multi_bad_name_null", s(r#"{"statusCode":200,"multiValueHeaders":{"bad name":null}}"#)),
        ("multi_bad_name_empty", s(r#"{"statusCode":200,"multiValueHeaders":{"bad name":[]}}"#)),
        ("multi_case_variants", s(r#"{"statusCode":200,"multiValueHeaders":{"X-M":["1"],"x-m":["2","3"]}}"#)),
        ("cookies_string", s(r#"{"statusCode":200,"cookies":"a=1"}"#)),
        ("cookies_number", s(r#"{"statusCode":200,"cookies":[1]}"#)),
        ("cookies_null_element", s(r#"{"statusCode":200,"cookies":["a=1",null]}"#)),
        ("cookies_newline", s(r#"{"statusCode":200,"cookies":["a=1\nb"]}"#)),
        (
            "cookies_after_set_cookie",
            s(
                r#"{"statusCode":200,"headers":{"set-cookie":"h=1"},"multiValueHeaders":{"Set-Cookie":["m=1"]},"cookies":["c=1"]}"#,
            ),
        ),
        ("cookies_empty", s(r#"{"statusCode":200,"cookies":[]}"#)),
        ("base64_string_flag", s(r#"{"statusCode":200,"isBase64Encoded":"yes"}"#)),
        ("base64_number_flag", s(r#"{"statusCode":200,"isBase64Encoded":1}"#)),
        ("base64_bad", s(r#"{"statusCode":200,"body":"!!","isBase64Encoded":true}"#)),
        ("status_description_odd", s(r#"{"statusCode":200,"statusDescription":5}"#)),
        ("unknown_fields", s(r#"{"statusCode":202,"extra":{"deep":[1,2,3]},"statusDescription":"202 Accepted"}"#)),
        ("duplicate_headers_key", s(r#"{"statusCode":200,"headers":{"x":"1"},"headers":{"y":"2"}}"#)),
        ("deep_nesting_body", format!("{{\"statusCode\":200,\"body\":{}1{}}}", "[".repeat(100), "]".repeat(100))),
        ("too_deep", format!("{{\"statusCode\":200,\"body\":{}1{}}}", "[".repeat(200), "]".repeat(200))),
    ]
}
