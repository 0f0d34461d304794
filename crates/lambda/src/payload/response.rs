//! [`ProxyResponse`]: the answer function URLs, API Gateway (payload 1.0 and
//! 2.0) and ALB expect from a function — what the gateway writes to the
//! platform, and what it reads from the functions it invokes.
//!
//! Written, each integration reads the fields it knows: `headers` (one value
//! per name) and `cookies` for payload 2.0, `multiValueHeaders` for payload
//! 1.0 and ALB in multi-value mode, `statusDescription` for ALB; `body` and
//! `isBase64Encoded` are always there.
//!
//! Read, it is taken as API Gateway takes it: `statusCode` a number or a
//! numeric string; header values strings, numbers or booleans (`null`
//! skipped); a `multiValueHeaders` entry a list, one value or `null`; a
//! `body` that is not a string is JSON text. What does not fit is an error
//! naming the field. Header names and values are not checked here (the
//! conversion does, with its own errors); `statusDescription` is write-only
//! (API Gateway ignores it in an answer).

use super::header_values;
use super::lenient::null_as_false;
use http::StatusCode;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A Lambda proxy integration response.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    #[serde(with = "status_code")]
    pub status_code: StatusCode,
    /// ALB only: `"200 OK"`. Write-only.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(default, deserialize_with = "header_values::single", skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "header_values::multi", skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// Payload 2.0: the `Set-Cookie` headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    #[serde(default)]
    pub body: Body,
    #[serde(default, deserialize_with = "null_as_false")]
    pub is_base64_encoded: bool,
}

/// A response body: text (base64 when `isBase64Encoded`), or — read from a
/// function — any other JSON value, which API Gateway sends as JSON text.
/// `null` and a missing body read as empty text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    Json(serde_json::Value),
}

impl Default for Body {
    fn default() -> Self {
        Body::Text(String::new())
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Text(text) => serializer.serialize_str(text),
            Body::Json(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Body::Text(text),
            serde_json::Value::Null => Body::default(),
            other => Body::Json(other),
        })
    }
}

/// `statusCode`: written as a number; read from a number or a numeric
/// string (surrounding spaces allowed), 100 to 999.
mod status_code {
    use super::*;

    pub fn serialize<S: Serializer>(status: &StatusCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(status.as_u16())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<StatusCode, D::Error> {
        deserializer.deserialize_any(StatusVisitor)
    }

    struct StatusVisitor;

    impl StatusVisitor {
        fn status<E: de::Error>(n: u64, unexpected: Unexpected<'_>) -> Result<StatusCode, E> {
            u16::try_from(n)
                .ok()
                .and_then(|n| StatusCode::from_u16(n).ok())
                .ok_or_else(|| E::invalid_value(unexpected, &StatusVisitor))
        }
    }

    impl Visitor<'_> for StatusVisitor {
        type Value = StatusCode;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an HTTP status (100 to 999), as a number or a string")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusCode, E> {
            Self::status(n, Unexpected::Unsigned(n))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusCode, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(n), &self)),
            }
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusCode, E> {
            match s.trim().parse::<u64>() {
                Ok(n) => Self::status(n, Unexpected::Str(s)),
                Err(_) => Err(E::invalid_value(Unexpected::Str(s), &self)),
            }
        }
    }
}
