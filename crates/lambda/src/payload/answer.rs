//! What a function the gateway invoked answers. [`Answer`]: told apart as
//! API Gateway tells it, a JSON object with a `statusCode` member is a proxy
//! response ([`ProxyResponse`]) and any other JSON the body of a 200.
//! [`FunctionFailure`]: the payload of a function error (the function threw,
//! timed out or crashed).

use super::lenient::lenient;
use super::response::ProxyResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A function's answer, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A proxy response.
    Proxy(ProxyResponse),
    /// Other JSON: the answer's own bytes are the body (`application/json`).
    Json,
}

/// Why an answer cannot be read.
#[derive(Debug)]
pub enum AnswerError {
    /// The payload is not JSON.
    NotJson(serde_json::Error),
    /// It has a `statusCode`, but a field does not fit a proxy response.
    BadProxyResponse(serde_path_to_error::Error<serde_json::Error>),
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::NotJson(e) => write!(f, "the function's answer is not JSON: {e}"),
            AnswerError::BadProxyResponse(e) => write!(f, "the function's proxy response is not valid: {e}"),
        }
    }
}

impl std::error::Error for AnswerError {}

impl Answer {
    /// Reads a function's payload. Never panics, whatever it holds (serde_json
    /// bounds nesting depth).
    pub fn read(payload: &[u8]) -> Result<Answer, AnswerError> {
        let value: Value = serde_json::from_slice(payload).map_err(AnswerError::NotJson)?;
        if !value.as_object().is_some_and(|object| object.contains_key("statusCode")) {
            return Ok(Answer::Json);
        }
        let proxy = serde_path_to_error::deserialize(value).map_err(AnswerError::BadProxyResponse)?;
        Ok(Answer::Proxy(proxy))
    }
}

/// The payload Lambda returns with a function error:
/// `{"errorType": …, "errorMessage": …}`. Fields of another type read as
/// absent.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionFailure {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl FunctionFailure {
    /// The failure a payload describes; `None` unless it is a JSON object.
    pub fn read(payload: &[u8]) -> Option<FunctionFailure> {
        let value: Value = serde_json::from_slice(payload).ok()?;
        if !value.is_object() {
            return None;
        }
        FunctionFailure::deserialize(value).ok()
    }
}
