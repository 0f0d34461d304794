//! The JSON shapes Lambda uses for HTTP: the invocation event of function
//! URLs and API Gateway HTTP APIs (payload 2.0), API Gateway REST APIs
//! (payload 1.0) and ALB target groups, and the response each expects.
//!
//! One lenient struct reads all three (every field optional, unknown fields
//! ignored), keeping header and parameter order, so that a well-formed event
//! never fails to deserialise and the conversion can answer anything odd
//! inside it with a gateway error instead.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

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
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub version: Option<String>,
    /// Payload 2.0: the path exactly as the client sent it.
    #[serde(default)]
    pub raw_path: Option<String>,
    /// Payload 2.0: the query exactly as the client sent it, without `?`.
    #[serde(default)]
    pub raw_query_string: Option<String>,
    /// Payload 2.0: the `Cookie` header, split.
    #[serde(default)]
    pub cookies: Option<Vec<String>>,
    /// Payload 1.0 and ALB.
    #[serde(default)]
    pub http_method: Option<String>,
    /// Payload 1.0 and ALB.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub headers: Pairs<String>,
    #[serde(default)]
    pub multi_value_headers: Pairs<Vec<String>>,
    #[serde(default)]
    pub query_string_parameters: Pairs<String>,
    #[serde(default)]
    pub multi_value_query_string_parameters: Pairs<Vec<String>>,
    #[serde(default)]
    pub request_context: Option<RequestContext>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Payload 2.0.
    #[serde(default)]
    pub http: Option<HttpDescription>,
    /// Payload 1.0.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// ALB.
    #[serde(default)]
    pub elb: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDescription {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub source_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(default)]
    pub source_ip: Option<String>,
}

impl Event {
    pub fn kind(&self) -> Kind {
        let context = self.request_context.as_ref();
        if context.is_some_and(|c| c.elb.is_some()) {
            Kind::Alb { multi_value: !self.multi_value_headers.0.is_empty() }
        } else if self.version.as_deref() == Some("2.0") {
            Kind::V2
        } else {
            Kind::V1
        }
    }
}

/// A JSON object as its entries in document order; `null` reads as empty.
#[derive(Debug)]
pub struct Pairs<T>(pub Vec<(String, T)>);

impl<T> Default for Pairs<T> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pairs<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for PairsVisitor<T> {
            type Value = Pairs<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or null")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Pairs::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }
        }

        deserializer.deserialize_option(PairsVisitor(PhantomData))
    }
}

/// The response all three integrations accept; each reads the fields it knows.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EventResponse {
    pub status_code: u16,
    /// ALB only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    /// Payload 2.0: the `Set-Cookie` headers (always sent there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    pub body: String,
    pub is_base64_encoded: bool,
}
