//! `tollgate-conformance-backend`: a second Lambda function for the
//! conformance suite, which `cargo lambda watch` serves beside the gateway
//! and the gateway reaches with the Invoke API (a `lambda:` upstream).
//!
//! It reads an API Gateway HTTP API (payload 2.0) event and answers a proxy
//! response whose JSON body describes what arrived:
//! `{"function": "backend", "method", "path", "query", "headers", "cookies", "body", "isBase64Encoded"}`.
//! The query steers it: `status=NNN` answers that status, `plain=1` answers
//! plain JSON (no `statusCode`: API Gateway makes it a 200), `fail=1` fails
//! (a function error). Both payloads are the gateway's own types
//! (`tollgate_lambda::payload`), read and written as a function would.
//!
//! Not part of the gateway; never deployed by template.yaml.

use http::StatusCode;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tollgate_lambda::payload::{Body, Event, ProxyResponse};

/// What the function answers: a proxy response, or plain JSON.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Reply {
    Proxy(ProxyResponse),
    Plain(Value),
}

fn parameter<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The answer to one event; `Err` is a function error.
fn answer(event: &Event) -> Result<Reply, String> {
    let query = event.raw_query_string.as_deref().unwrap_or_default();
    if parameter(query, "fail").is_some() {
        return Err("the conformance backend was asked to fail".into());
    }
    let method = event.request_context.as_ref().and_then(|c| c.http.as_ref()).and_then(|h| h.method.as_deref());
    let seen = json!({
        "function": "backend",
        "method": method,
        "path": event.raw_path,
        "query": query,
        "headers": event.headers,
        "cookies": event.cookies,
        "body": event.body,
        "isBase64Encoded": event.is_base64_encoded,
    });
    if parameter(query, "plain").is_some() {
        return Ok(Reply::Plain(seen));
    }
    let status = parameter(query, "status")
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=599).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok());
    let headers = [("content-type", "application/json"), ("x-backend", "lambda")];
    Ok(Reply::Proxy(ProxyResponse {
        status_code: status.unwrap_or(StatusCode::OK),
        headers: Some(headers.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect::<BTreeMap<_, _>>()),
        cookies: Some(vec!["fn=1; Path=/".into()]),
        body: Body::Text(seen.to_string()),
        is_base64_encoded: false,
        ..ProxyResponse::default()
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<Event>| async move { answer(&event.payload).map_err(Error::from) },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(value: Value) -> Event {
        serde_json::from_value(value).expect("an event")
    }

    fn reply(value: Value) -> Value {
        serde_json::to_value(answer(&event(value)).expect("an answer")).expect("json")
    }

    #[test]
    fn answers_describe_the_event() {
        let out = reply(json!({
            "rawPath": "/a/b", "rawQueryString": "x=1&status=503",
            "headers": {"x-request-id": "r"}, "requestContext": {"http": {"method": "GET"}},
        }));
        assert_eq!(out["statusCode"], 503);
        assert_eq!(out["cookies"], json!(["fn=1; Path=/"]));
        let body: Value = serde_json::from_str(out["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["path"], "/a/b");
        assert_eq!(body["method"], "GET");
        assert_eq!(body["headers"]["x-request-id"], "r");
        assert_eq!(body["cookies"], Value::Null);
        assert!(answer(&event(json!({"rawQueryString": "fail=1"}))).is_err());
        assert_eq!(reply(json!({"rawQueryString": "plain=1"}))["function"], "backend");
        assert_eq!(reply(json!({"rawQueryString": "status=abc"}))["statusCode"], 200);
        assert_eq!(reply(json!({}))["statusCode"], 200, "the warm-up's empty event");
    }
}
