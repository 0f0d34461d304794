//! The compiled, immutable gateway: what `compile::load` builds and
//! `Gateway::handle` (in `pipeline`) serves. A reload builds a new one.

use crate::compile::cors::Cors;
use crate::compile::route::{Route, RouteTable};
use crate::compile::upstream::Upstream;
use crate::config::ClientIpMode;

pub struct Gateway {
    pub(crate) auth: crate::auth::Auth,
    /// Forwarded-claim headers: set by the gateway only, client copies dropped.
    pub(crate) identity_headers: Vec<http::HeaderName>,
    pub(crate) routes: Vec<Route>,
    pub(crate) table: RouteTable,
    pub(crate) upstreams: Vec<Upstream>,
    pub(crate) cors: Option<Cors>,
    pub(crate) max_body_bytes: u64,
    pub(crate) max_header_bytes: u64,
    pub(crate) client_ip: ClientIpMode,
    pub(crate) trusted_hops: u32,
    pub(crate) admin_token: Option<String>,
    pub(crate) plans: crate::compile::limit::Plans,
    /// Per-process limiter state: the "blocked until" fast path.
    pub(crate) limiter: crate::pipeline::limit::LimiterState,
}

/// One route as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSummary {
    pub id: String,
    pub path: String,
    pub methods: Vec<String>,
    pub upstream: String,
}

/// One upstream as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSummary {
    pub name: String,
    pub targets: Vec<String>,
    pub timeout_ms: u64,
}

impl Gateway {
    pub fn routes(&self) -> Vec<RouteSummary> {
        self.routes
            .iter()
            .map(|r| RouteSummary {
                id: r.id.clone(),
                path: r.pattern.clone(),
                methods: r
                    .methods
                    .as_ref()
                    .map_or_else(|| vec!["*".into()], |ms| ms.iter().map(|m| m.to_string()).collect()),
                upstream: self.upstreams.get(r.upstream).map_or_else(String::new, |u| u.name.clone()),
            })
            .collect()
    }

    pub fn upstreams(&self) -> Vec<UpstreamSummary> {
        self.upstreams
            .iter()
            .map(|u| UpstreamSummary {
                name: u.name.clone(),
                targets: u
                    .targets
                    .iter()
                    .map(|t| format!("{}://{}{} (weight {})", t.scheme, t.authority, t.base_path, t.weight))
                    .collect(),
                timeout_ms: u64::try_from(u.timeout.as_millis()).unwrap_or(u64::MAX),
            })
            .collect()
    }

    /// How many consumers the config names (more may live in the key-value store).
    pub fn consumer_count(&self) -> usize {
        self.auth.consumers.ids.len()
    }

    /// The request body limit, for adapters that must stop reading early.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The header block limit, for adapters that size their parsers by it.
    pub fn max_header_bytes(&self) -> u64 {
        self.max_header_bytes
    }
}
