//! Who a request is once authenticated: the consumer, its plan, the verified
//! claims, the headers they become, and where the credential that verified
//! was read. Auth produces it; limits, templates and forwarding read it.

use http::HeaderName;

/// A JWT's verified claims.
pub(crate) type Claims = serde_json::Map<String, serde_json::Value>;

/// A configured credential location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `Authorization: Bearer <token>`; with `also_query`, the token may come
    /// from that query parameter instead (never from both).
    Bearer { also_query: Option<String> },
    /// A header holding the credential as is (`x-api-key`).
    Header(HeaderName),
    /// A query parameter holding the credential (`api_key`).
    Query(String),
}

/// Who the request is, once authenticated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity {
    pub consumer: Option<String>,
    /// The plan a run-time consumer record names (config consumers: see `plans`).
    pub plan: Option<String>,
    pub claims: Option<Claims>,
    /// Headers to set towards the upstream (forwarded claims).
    pub claim_headers: Vec<(HeaderName, http::HeaderValue)>,
    /// Where the checked credential came from (stripped unless forwarded).
    pub credential: Option<Source>,
}

impl Identity {
    pub(crate) fn claim_str(&self, name: &str) -> Option<String> {
        let value = self.claims.as_ref()?.get(name)?;
        match value {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}
