//! What `tollgate check` lists of a compiled config: routes, plans and
//! upstreams in words.

use crate::compiled::CompiledConfig;
use crate::config::{Consistency, OnStoreError};
use crate::limit::Per;
use crate::ratelimit::{KeySource, Measure};

/// One route as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSummary {
    /// The route's `id`.
    pub id: String,
    /// The route's `path` pattern, as written.
    pub path: String,
    /// Accepted methods, upper case; `["*"]` when the route accepts every method.
    pub methods: Vec<String>,
    /// The upstream's name, or `aggregate(NAME, …)` with the backends' names.
    pub upstream: String,
    /// `20/60s by consumer, exact, closed` when the route has a `rate_limit`.
    pub rate_limit: Option<String>,
}

/// One plan as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    /// The plan's name in `plans`.
    pub name: String,
    /// `rate 100/1s`, `quota 1000/day`.
    pub limits: Vec<String>,
    /// Consumers of the config on this plan.
    pub consumers: Vec<String>,
}

/// One upstream as `tollgate check` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSummary {
    /// The upstream's name in `upstreams`.
    pub name: String,
    /// Each target as `scheme://authority[/base] (weight N)`; a `binding` or
    /// `lambda` upstream shows its placeholder (`http://binding.internal`,
    /// `http://lambda.internal`).
    pub targets: Vec<String>,
    /// The upstream's `timeout`, in milliseconds (default 10s).
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

/// The routes, as `tollgate check` lists them.
pub fn routes(config: &CompiledConfig) -> Vec<RouteSummary> {
    config
        .routes
        .iter()
        .map(|r| RouteSummary {
            id: r.id.clone(),
            path: r.pattern.clone(),
            methods: r
                .methods
                .as_ref()
                .map_or_else(|| vec!["*".into()], |ms| ms.iter().map(|m| m.to_string()).collect()),
            upstream: match (&r.aggregate, r.upstream.and_then(|u| config.upstreams.get(u))) {
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

/// The plans, as `tollgate check` lists them.
pub fn plans(config: &CompiledConfig) -> Vec<PlanSummary> {
    let mut plans: Vec<PlanSummary> = config
        .plans
        .by_name
        .iter()
        .map(|(name, p)| {
            let mut consumers: Vec<String> =
                config.plans.of_consumer.iter().filter(|(_, plan)| *plan == name).map(|(c, _)| c.clone()).collect();
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

/// The upstreams, as `tollgate check` lists them.
pub fn upstreams(config: &CompiledConfig) -> Vec<UpstreamSummary> {
    config
        .upstreams
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
