//! The upstream port on Lambda: plain HTTP upstreams through the hyper client
//! of `tollgate-native`, and `lambda:` upstreams (requests the core marks with
//! [`UpstreamTarget::Lambda`]) through the Lambda Invoke API.
//!
//! A direct invoke sends the function what an API Gateway HTTP API (payload
//! format 2.0) would send it ([`invoke_event`]), so that functions written for
//! an HTTP API (or a function URL) work behind the gateway unchanged, and reads
//! its answer the way API Gateway does ([`response_of`]): a proxy response
//! (`statusCode`, `headers`, `multiValueHeaders`, `cookies`, `body`,
//! `isBase64Encoded`), or any other JSON as a 200 `application/json` body.
//!
//! What the function returns is never trusted: an answer that cannot be read
//! is `UpstreamError::Protocol` (the client gets a 502), as is a function
//! error (`FunctionError` set: the function threw, timed out or crashed). An
//! invoke Lambda refuses (no such function, throttled, access denied) or that
//! cannot be sent is `UpstreamError::Connect`. The SDK does not retry: a
//! retried invoke would run the function twice.
//!
//! The AWS client is built on the first invoke (or at cold start, sharing the
//! config the DynamoDB stores load), from the environment: credentials and
//! region as for every SDK client, `AWS_ENDPOINT_URL_LAMBDA` (or
//! `AWS_ENDPOINT_URL`) to point it at an emulator such as `cargo lambda watch`.

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, COOKIE, SET_COOKIE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;
use tollgate_core::platform::{UpstreamBodyLimit, UpstreamClient, UpstreamError, UpstreamTarget};
use tollgate_native::HyperUpstream;

/// The largest invoke answer read at all (Lambda itself caps it at 6 MB).
const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// What a Lambda container sends upstream: HTTP, or a function invoke.
pub struct LambdaUpstream {
    http: HyperUpstream,
    sdk: OnceCell<SdkConfig>,
    lambda: OnceCell<Client>,
}

impl std::fmt::Debug for LambdaUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaUpstream").field("lambda_client", &self.lambda.initialized()).finish_non_exhaustive()
    }
}

impl LambdaUpstream {
    /// The client over `http`; `sdk` is the AWS config when it is already
    /// loaded (else it is loaded on the first invoke).
    pub fn new(http: HyperUpstream, sdk: Option<SdkConfig>) -> Self {
        LambdaUpstream { http, sdk: OnceCell::new_with(sdk), lambda: OnceCell::new() }
    }

    async fn client(&self) -> &Client {
        self.lambda
            .get_or_init(|| async {
                let sdk = self.sdk.get_or_init(crate::platform::aws_sdk_config).await;
                // No retries: the gateway decides; a retried invoke runs the function twice.
                let config = aws_sdk_lambda::config::Builder::from(sdk).retry_config(RetryConfig::disabled()).build();
                Client::from_conf(config)
            })
            .await
    }

    async fn invoke(&self, function: &str, request: Request<Bytes>) -> Result<Response<Bytes>, UpstreamError> {
        let cap = UpstreamBodyLimit::of(&request);
        let event = invoke_event(&request, SystemTime::now());
        let payload = serde_json::to_vec(&event).map_err(|e| UpstreamError::Protocol(format!("event: {e}")))?;
        let output = self
            .client()
            .await
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| sdk_error(function, &e))?;
        let answer = output.payload().map(Blob::as_ref).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            return Err(UpstreamError::Protocol(function_error(function, kind, answer)));
        }
        // The SDK hands the payload over whole (at most Lambda's 6 MB); the
        // cap applies to the body the function answered.
        let response = response_of(answer)?;
        if response.body().len() as u64 > cap {
            return Err(protocol(format!("the function's answer is larger than {cap} bytes")));
        }
        Ok(response)
    }
}

impl UpstreamClient for LambdaUpstream {
    async fn send(&self, request: Request<Bytes>, timeout: Duration) -> Result<Response<Bytes>, UpstreamError> {
        match request.extensions().get::<UpstreamTarget>().cloned() {
            None => self.http.send(request, timeout).await,
            Some(UpstreamTarget::Binding(_)) => {
                Err(UpstreamError::Connect("service bindings exist only on Workers".into()))
            }
            Some(UpstreamTarget::Lambda(function)) => tokio::time::timeout(timeout, self.invoke(&function, request))
                .await
                .unwrap_or(Err(UpstreamError::Timeout)),
        }
    }
}

fn sdk_error<E, R>(function: &str, error: &SdkError<E, R>) -> UpstreamError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = || format!("invoking `{function}`: {}", DisplayErrorContext(error));
    match error {
        SdkError::TimeoutError(_) => UpstreamError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => UpstreamError::Timeout,
        // Not sent, or refused by Lambda before the function ran (no such
        // function, throttled, access denied, payload too large).
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) | SdkError::ServiceError(_) => {
            UpstreamError::Connect(detail())
        }
        _ => UpstreamError::Protocol(detail()),
    }
}

/// The message of a function error: its type and Lambda's `errorType` /
/// `errorMessage` when the payload has them (shortened).
fn function_error(function: &str, kind: &str, payload: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    let field = |name: &str| parsed.as_ref().and_then(|v| v.get(name)).and_then(Value::as_str).map(|s| shorten(s, 200));
    let mut message = format!("function `{function}` failed ({})", shorten(kind, 40));
    match (field("errorType"), field("errorMessage")) {
        (Some(t), Some(m)) => message.push_str(&format!(": {t}: {m}")),
        (Some(x), None) | (None, Some(x)) => message.push_str(&format!(": {x}")),
        (None, None) => {}
    }
    message
}

fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The API Gateway HTTP API (payload 2.0) event for a request the core sends
/// to a function. Header names are lower-case, repeated headers joined with
/// `,`, `Cookie` goes to `cookies`; a body that is not UTF-8 is base64.
pub fn invoke_event(request: &Request<Bytes>, now: SystemTime) -> Value {
    let uri = request.uri();
    let path = uri.path();
    let raw_query = uri.query().unwrap_or_default();
    let headers = request.headers();

    let mut joined: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for name in headers.keys() {
        let values = headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if name == COOKIE {
            cookies.extend(
                values
                    .flat_map(|v| v.split(';').map(|c| c.trim().to_owned()).collect::<Vec<_>>())
                    .filter(|c| !c.is_empty())
                    .map(Value::String),
            );
        } else {
            joined.insert(name.as_str().to_owned(), Value::String(values.collect::<Vec<_>>().join(",")));
        }
    }
    let header = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    // The client as the gateway saw it: the last X-Forwarded-For entry (the core appends it).
    let source_ip = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string());

    let (body, is_base64) = match request.body() {
        b if b.is_empty() => (Value::Null, false),
        b => match std::str::from_utf8(b) {
            Ok(text) => (Value::String(text.to_owned()), false),
            Err(_) => (Value::String(BASE64.encode(b)), true),
        },
    };
    let epoch_ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let epoch_ms = u64::try_from(epoch_ms).unwrap_or(u64::MAX);

    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "routeKey": "$default",
            "stage": "$default",
            "requestId": header("x-request-id"),
            "domainName": header("x-forwarded-host").or_else(|| uri.host().map(str::to_owned)),
            "timeEpoch": epoch_ms,
            "http": {
                "method": request.method().as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": header("user-agent"),
            },
        },
        "isBase64Encoded": is_base64,
    });
    if let Some(object) = event.as_object_mut() {
        if !cookies.is_empty() {
            object.insert("cookies".into(), Value::Array(cookies));
        }
        let params = query_parameters(raw_query);
        if !params.is_empty() {
            object.insert("queryStringParameters".into(), Value::Object(params));
        }
        if !body.is_null() {
            object.insert("body".into(), body);
        }
    }
    event
}

/// `queryStringParameters` as API Gateway builds them: decoded, repeated
/// keys joined with `,`.
fn query_parameters(raw: &str) -> Map<String, Value> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    let mut out: Map<String, Value> = Map::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(key), decode(value));
        match out.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                out.insert(key, Value::String(value));
            }
        }
    }
    out
}

fn protocol(message: impl Into<String>) -> UpstreamError {
    UpstreamError::Protocol(message.into())
}

/// A function's answer as an HTTP response, read as API Gateway reads it.
/// Never panics; what cannot be read is `UpstreamError::Protocol`.
pub fn response_of(payload: &[u8]) -> Result<Response<Bytes>, UpstreamError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(protocol(format!("the function's answer is larger than {MAX_PAYLOAD} bytes")));
    }
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| protocol(format!("the function's answer is not JSON: {e}")))?;
    let proxy = value.as_object().filter(|o| o.contains_key("statusCode"));
    let Some(proxy) = proxy else {
        // Not a proxy response: the JSON itself is the body.
        let mut response = Response::new(Bytes::copy_from_slice(payload));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    };

    let status = match &proxy["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .and_then(|n| StatusCode::from_u16(n).ok())
    .ok_or_else(|| protocol(format!("the function's statusCode is not an HTTP status: {}", proxy["statusCode"])))?;

    let mut headers = HeaderMap::new();
    match proxy.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                if let Some(value) = scalar(value, name)? {
                    headers.insert(header_name(name)?, header_value(name, &value)?);
                }
            }
        }
        Some(_) => return Err(protocol("the function's headers are not an object")),
    }
    match proxy.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, values) in map {
                let values = match values {
                    Value::Array(values) => values.as_slice(),
                    Value::Null => &[],
                    single => std::slice::from_ref(single),
                };
                let header = header_name(name)?;
                // multiValueHeaders win over headers of the same name.
                headers.remove(&header);
                for value in values {
                    if let Some(value) = scalar(value, name)? {
                        headers.append(header.clone(), header_value(name, &value)?);
                    }
                }
            }
        }
        Some(_) => return Err(protocol("the function's multiValueHeaders are not an object")),
    }
    match proxy.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                let Value::String(cookie) = cookie else {
                    return Err(protocol("the function's cookies are not strings"));
                };
                headers.append(SET_COOKIE, header_value("set-cookie", cookie)?);
            }
        }
        Some(_) => return Err(protocol("the function's cookies are not an array")),
    }
    // The body is whole here: framing headers from the function would lie.
    headers.remove(CONTENT_LENGTH);
    headers.remove(TRANSFER_ENCODING);

    let base64 = match proxy.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(protocol("the function's isBase64Encoded is not a boolean")),
    };
    let body = match proxy.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if base64 => BASE64
            .decode(text.trim())
            .map(Bytes::from)
            .map_err(|e| protocol(format!("the function's body is not base64: {e}")))?,
        Some(Value::String(text)) => Bytes::copy_from_slice(text.as_bytes()),
        // API Gateway wants a string; a JSON value is sent as JSON.
        Some(other) => Bytes::from(other.to_string()),
    };

    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// A header value as text: strings as they are, numbers and booleans
/// written out, `null` skipped.
fn scalar(value: &Value, name: &str) -> Result<Option<String>, UpstreamError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(protocol(format!("the function's header `{}` is not a string", shorten(name, 64)))),
    }
}

fn header_name(name: &str) -> Result<HeaderName, UpstreamError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| protocol(format!("the function answered an invalid header name `{}`", shorten(name, 64))))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, UpstreamError> {
    HeaderValue::from_str(value)
        .map_err(|_| protocol(format!("the function answered an invalid value for header `{}`", shorten(name, 64))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::copy_from_slice(body)).expect("request")
    }

    #[test]
    fn the_event_is_an_http_api_v2_event() {
        let req = request(
            "POST",
            "http://lambda.internal/v1/price/%7Bx%7D?a=1&a=2&b=x%20y&c",
            &[
                ("X-Request-Id", "req-1"),
                ("Accept", "text/plain"),
                ("accept", "application/json"),
                ("cookie", "a=1; b=2"),
                ("x-forwarded-for", "203.0.113.9, 198.51.100.7"),
                ("x-forwarded-host", "api.example.com"),
            ],
            b"{\"n\":1}",
        );
        let event = invoke_event(&req, UNIX_EPOCH + Duration::from_millis(1_234));
        assert_eq!(event["version"], "2.0");
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
        assert_eq!(event["requestContext"]["requestId"], "req-1");
        assert_eq!(event["requestContext"]["domainName"], "api.example.com");
        assert_eq!(event["requestContext"]["timeEpoch"], 1_234);
        assert_eq!(event["body"], "{\"n\":1}");
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn binary_bodies_are_base64_and_empty_ones_absent() {
        let event = invoke_event(&request("PUT", "http://lambda.internal/b", &[], &[0xff, 0x00, 0x80]), UNIX_EPOCH);
        assert_eq!(event["body"], "/wCA");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["rawQueryString"], "");
        let event = invoke_event(&request("GET", "http://lambda.internal/", &[], b""), UNIX_EPOCH);
        assert!(event.get("body").is_none());
        assert!(event.get("queryStringParameters").is_none());
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["requestContext"]["http"]["sourceIp"], Value::Null);
    }

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
    fn function_errors_name_the_function_and_the_error() {
        let payload = br#"{"errorType":"TypeError","errorMessage":"x is undefined"}"#;
        assert_eq!(
            function_error("pricing", "Unhandled", payload),
            "function `pricing` failed (Unhandled): TypeError: x is undefined"
        );
        assert_eq!(function_error("pricing", "Unhandled", b"\xff"), "function `pricing` failed (Unhandled)");
        let long = "é".repeat(500);
        assert!(
            function_error("f", "Handled", json!({"errorMessage": long}).to_string().as_bytes()).chars().count() < 260
        );
    }

    #[tokio::test]
    async fn bindings_are_refused_and_http_goes_to_the_http_client() {
        let upstream = LambdaUpstream::new(HyperUpstream::new(), None);
        let mut req = request("GET", "http://binding.internal/x", &[], b"");
        req.extensions_mut().insert(UpstreamTarget::Binding("ORDERS".into()));
        assert_eq!(
            upstream.send(req, Duration::from_secs(1)).await.map(|_| ()),
            Err(UpstreamError::Connect("service bindings exist only on Workers".into()))
        );
        // Plain HTTP to a port nobody listens on: the hyper client's connect error.
        let req = request("GET", "http://127.0.0.1:1/x", &[], b"");
        assert!(matches!(upstream.send(req, Duration::from_secs(5)).await, Err(UpstreamError::Connect(_))));
    }
}
