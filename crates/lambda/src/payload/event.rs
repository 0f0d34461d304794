//! [`Event`]: the HTTP invocation event, whichever integration sends it —
//! function URLs and API Gateway HTTP APIs (payload 2.0), API Gateway REST
//! APIs (payload 1.0), ALB target groups — and the payload 2.0 event the
//! gateway sends the functions it invokes.
//!
//! One lenient struct reads all three shapes (every field optional, unknown
//! fields ignored); [`Event::kind`] tells which one arrived. Written, a field
//! the event does not have is left out, except the payload 2.0 fields the
//! gateway has always sent as `null` when it does not know them
//! (`requestContext.requestId`, `domainName`, `http.sourceIp`,
//! `http.userAgent`).
//!
//! Fields the gateway writes for invokes but has no use for in a platform's
//! event (`routeKey`, `stage`, `requestId`, `timeEpoch`, `http.path`,
//! `http.protocol`, `http.userAgent`) are write-only: reading skips them like
//! any unknown field, so that no value of theirs (another type, a key twice)
//! can make an event fail that the gateway could serve.

use super::pairs::Pairs;
use serde::de::{Deserializer, IgnoredAny};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// Which integration sent the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Function URL or HTTP API, payload format 2.0.
    V2,
    /// REST API, or HTTP API with payload format 1.0.
    V1,
    /// ALB target group; `multi_value` when the target group has multi-value
    /// headers enabled (the response must then use `multiValueHeaders`).
    Alb { multi_value: bool },
}

/// An HTTP invocation event, whichever integration sent it.
///
/// The fields after `is_base64_encoded` are write-only (for invokes).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Payload 2.0: the path exactly as the client sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_path: Option<String>,
    /// Payload 2.0: the query exactly as the client sent it, without `?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_query_string: Option<String>,
    /// Payload 2.0: the `Cookie` header, split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    /// Payload 1.0 and ALB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Payload 1.0 (decoded) and ALB (as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Payload 2.0: repeated headers joined with `,`; payload 1.0 and ALB:
    /// the last value of each. Always written (payload 2.0 always has it).
    #[serde(default)]
    pub headers: Pairs<String>,
    /// Payload 1.0, and ALB with multi-value headers: every value.
    #[serde(default, skip_serializing_if = "Pairs::is_empty")]
    pub multi_value_headers: Pairs<Vec<String>>,
    /// Decoded; payload 2.0 joins repeated keys with `,`.
    #[serde(default, skip_serializing_if = "Pairs::is_empty")]
    pub query_string_parameters: Pairs<String>,
    /// Payload 1.0, and ALB with multi-value headers.
    #[serde(default, skip_serializing_if = "Pairs::is_empty")]
    pub multi_value_query_string_parameters: Pairs<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_context: Option<RequestContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_base64_encoded: Option<bool>,
    /// Payload 2.0: the route that matched (`$default` for invokes).
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub route_key: Option<String>,
}

/// `requestContext`. The fields after `elb` are write-only (for invokes).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// Written as `null` when unknown.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Payload 2.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpDescription>,
    /// Payload 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// ALB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elb: Option<ElbContext>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub route_key: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Written as `null` when unknown.
    #[serde(skip_deserializing)]
    pub request_id: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub time_epoch: Option<u64>,
}

/// `requestContext.http` (payload 2.0). `path`, `protocol` and `user_agent`
/// are write-only (for invokes).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDescription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Written as `null` when unknown.
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Written as `null` when unknown.
    #[serde(skip_deserializing)]
    pub user_agent: Option<String>,
}

/// `requestContext.identity` (payload 1.0).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

/// `requestContext.elb` (ALB): only its presence is read — whatever it holds
/// marks the event as ALB's. Written as an empty object.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ElbContext;

impl<'de> Deserialize<'de> for ElbContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| ElbContext)
    }
}

impl Serialize for ElbContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl Event {
    pub fn kind(&self) -> Kind {
        let context = self.request_context.as_ref();
        if context.is_some_and(|c| c.elb.is_some()) {
            Kind::Alb { multi_value: !self.multi_value_headers.is_empty() }
        } else if self.version.as_deref() == Some("2.0") {
            Kind::V2
        } else {
            Kind::V1
        }
    }
}
