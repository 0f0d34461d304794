//! `tollgate-conformance-backend`: a second Lambda function for the
//! conformance suite, which `cargo lambda watch` serves beside the gateway
//! and the gateway reaches with the Invoke API (a `lambda:` upstream).
//!
//! It reads an API Gateway HTTP API (payload 2.0) event and answers a proxy
//! response whose JSON body describes what arrived:
//! `{"function": "backend", "method", "path", "query", "headers", "cookies", "body", "isBase64Encoded"}`.
//! The query steers it: `status=NNN` answers that status, `plain=1` answers
//! plain JSON (no `statusCode`: API Gateway makes it a 200), `fail=1` fails
//! (a function error).
//!
//! Not part of the gateway; never deployed by template.yaml.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn parameter<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The answer to one event; `Err` is a function error.
fn answer(event: &Value) -> Result<Value, String> {
    let query = event["rawQueryString"].as_str().unwrap_or_default();
    if parameter(query, "fail").is_some() {
        return Err("the conformance backend was asked to fail".into());
    }
    let seen = json!({
        "function": "backend",
        "method": event["requestContext"]["http"]["method"],
        "path": event["rawPath"],
        "query": query,
        "headers": event["headers"],
        "cookies": event["cookies"],
        "body": event["body"],
        "isBase64Encoded": event["isBase64Encoded"],
    });
    if parameter(query, "plain").is_some() {
        return Ok(seen);
    }
    let status = parameter(query, "status").and_then(|s| s.parse::<u16>().ok()).filter(|s| (100..=599).contains(s));
    Ok(json!({
        "statusCode": status.unwrap_or(200),
        "headers": { "content-type": "application/json", "x-backend": "lambda" },
        "cookies": ["fn=1; Path=/"],
        "body": seen.to_string(),
        "isBase64Encoded": false,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<Value>| async move { answer(&event.payload).map_err(Error::from) },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_describe_the_event() {
        let event = json!({
            "rawPath": "/a/b", "rawQueryString": "x=1&status=503",
            "headers": {"x-request-id": "r"}, "requestContext": {"http": {"method": "GET"}},
        });
        let out = answer(&event).expect("answer");
        assert_eq!(out["statusCode"], 503);
        let body: Value = serde_json::from_str(out["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["path"], "/a/b");
        assert_eq!(body["method"], "GET");
        assert_eq!(body["headers"]["x-request-id"], "r");
        assert!(answer(&json!({"rawQueryString": "fail=1"})).is_err());
        assert_eq!(answer(&json!({"rawQueryString": "plain=1"})).expect("plain")["function"], "backend");
        assert_eq!(answer(&json!({"rawQueryString": "status=abc"})).expect("answer")["statusCode"], 200);
    }
}
