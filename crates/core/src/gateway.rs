//! The compiled, immutable gateway: what `compile::load` builds and
//! `Gateway::handle` (in `pipeline`) serves. A reload builds a new one.

use crate::compile::cors::Cors;
use crate::compile::limit::{KeySource, Measure};
use crate::compile::route::{Route, RouteTable};
use crate::compile::upstream::Upstream;
use crate::config::{ClientIpMode, Consistency, OnStoreError};
use crate::limit::Per;

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
    /// Upstream answer cap and the local server's connection bounds.
    pub(crate) bounds: crate::compile::bounds::Bounds,
    pub(crate) client_ip: ClientIpMode,
    pub(crate) trusted_hops: u32,
    /// IPv6 clients are one identity per prefix of this length in limits.
    pub(crate) ipv6_key_prefix: u8,
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
    /// `20/60s by consumer, exact, closed` when the route has a `rate_limit`.
    pub rate_limit: Option<String>,
}

/// One plan as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    pub name: String,
    /// `rate 100/1s`, `quota 1000/day`.
    pub limits: Vec<String>,
    /// Consumers of the config on this plan.
    pub consumers: Vec<String>,
}

/// One upstream as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSummary {
    pub name: String,
    pub targets: Vec<String>,
    pub timeout_ms: u64,
}

fn measure(m: &Measure) -> String {
    match m {
        Measure::Rate(r) => format!("rate {}/{}", r.limit, human(r.period)),
        Measure::Quota { requests, per } => {
            format!("quota {requests}/{}", if *per == Per::Day { "day" } else { "month" })
        }
    }
}

fn human(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) { format!("{ms}ms") } else { format!("{}s", ms / 1000) }
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
                upstream: match (&r.aggregate, r.upstream.and_then(|u| self.upstreams.get(u))) {
                    (Some(a), _) => format!("aggregate({})", a.backend_names().join(", ")),
                    (None, Some(u)) => u.name.clone(),
                    (None, None) => String::new(),
                },
                rate_limit: r.rate_limit.as_ref().map(|p| {
                    let key = match &p.key {
                        KeySource::Consumer => "consumer".to_owned(),
                        KeySource::Ip => "ip".to_owned(),
                        KeySource::Route => "route".to_owned(),
                        KeySource::Header(h) => format!("header:{h}"),
                        KeySource::Claim(c) => format!("claim:{c}"),
                    };
                    let consistency = if p.consistency == Consistency::Exact { "exact" } else { "approximate" };
                    let on_error = if p.on_store_error == OnStoreError::Closed { "closed" } else { "open" };
                    format!("{} by {key}, {consistency}, on_store_error {on_error}", measure(&p.measure))
                }),
            })
            .collect()
    }

    pub fn plans(&self) -> Vec<PlanSummary> {
        let mut plans: Vec<PlanSummary> = self
            .plans
            .by_name
            .iter()
            .map(|(name, p)| {
                let mut consumers: Vec<String> =
                    self.plans.of_consumer.iter().filter(|(_, plan)| *plan == name).map(|(c, _)| c.clone()).collect();
                consumers.sort();
                PlanSummary {
                    name: name.clone(),
                    limits: p.rate.iter().chain(p.quota.iter()).map(|p| measure(&p.measure)).collect(),
                    consumers,
                }
            })
            .collect();
        plans.sort_by(|a, b| a.name.cmp(&b.name));
        plans
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

    /// `limits.max_upstream_body`: the largest upstream answer body read.
    pub fn max_upstream_body(&self) -> u64 {
        self.bounds.max_upstream_body
    }

    /// The local server's connection cap and deadlines.
    pub fn server_limits(&self) -> &crate::compile::bounds::ServerLimits {
        &self.bounds.server
    }
}
