//! Compiles each route's `rate_limit`, the `plans` and the consumers' `plan`
//! into rate-limit policies, reporting every problem with its location.

use crate::auth::Scheme;
use crate::config::{
    Consistency, OnStoreError, Parsed, PlanRateConfig, Problems, QuotaConfig, QuotaPer, RateLimitConfig, RouteConfig,
};
use crate::limit::{Per, Rate};
use http::HeaderName;
use std::collections::HashMap;
use std::time::Duration;

/// What a policy's counter is keyed by (after its route or plan prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// The authenticated consumer; the client IP when there is none.
    Consumer,
    Ip,
    /// One counter for the whole route.
    Route,
    /// A request header's value; the client IP when it is absent.
    Header(HeaderName),
    /// A JWT claim's value; the client IP when it is absent.
    Claim(String),
}

/// How a policy measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    Rate(Rate),
    Quota { requests: u64, per: Per },
}

/// One compiled limit.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// `route`, `plan` or `quota`: the item name in the RateLimit headers.
    pub name: &'static str,
    /// `route:<id>`, `plan:<name>` or `quota:<name>`: no two policies share a counter.
    pub prefix: String,
    pub measure: Measure,
    pub key: KeySource,
    pub consistency: Consistency,
    pub on_store_error: OnStoreError,
    /// Where it was written (for `check --target` findings).
    pub loc: crate::config::Location,
    /// `RateLimit-Policy` when this is the only policy of a request (built
    /// once; `None` for quotas, whose month length varies).
    pub alone_header: Option<http::HeaderValue>,
}

fn with_alone_header(mut p: Policy) -> Policy {
    if let Measure::Rate(r) = p.measure {
        let item = crate::limit::headers::PolicyItem {
            name: p.name,
            quota: r.limit,
            window_secs: crate::limit::headers::whole_seconds(r.period),
        };
        p.alone_header = crate::limit::headers::policy_header(&[item]);
    }
    p
}

impl Policy {
    /// The most requests per second it can admit on one key.
    pub(crate) fn per_key_rate(&self) -> f64 {
        match self.measure {
            Measure::Rate(r) => r.limit as f64 / r.period.as_secs_f64().max(1e-6),
            Measure::Quota { requests, per } => {
                requests as f64 / if per == Per::Day { 86_400.0 } else { 28.0 * 86_400.0 }
            }
        }
    }
}

/// A plan's policies.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanPolicies {
    pub rate: Option<Policy>,
    pub quota: Option<Policy>,
}

/// Every plan, and which consumer of the config is on which.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plans {
    pub by_name: HashMap<String, PlanPolicies>,
    pub of_consumer: HashMap<String, String>,
}

fn parse_key(text: &str, schemes: &[Scheme]) -> Result<KeySource, String> {
    match text.split_once(':') {
        None => match text {
            "consumer" => Ok(KeySource::Consumer),
            "ip" => Ok(KeySource::Ip),
            "route" => Ok(KeySource::Route),
            _ => Err(format!("key `{text}`: use consumer, ip, route, header:NAME or claim:NAME")),
        },
        Some(("header", name)) => HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map(KeySource::Header)
            .map_err(|_| format!("key `{text}`: `{name}` is not a header name")),
        Some(("claim", "")) => Err(format!("key `{text}`: the claim name is empty")),
        Some(("claim", name)) => {
            if schemes.iter().any(|s| matches!(s, Scheme::Jwt(_))) {
                Ok(KeySource::Claim(name.to_owned()))
            } else {
                Err(format!("key `{text}` needs a jwt scheme in the route's `auth`"))
            }
        }
        Some(_) => Err(format!("key `{text}`: use consumer, ip, route, header:NAME or claim:NAME")),
    }
}

fn rate(requests: u64, per: Duration) -> Result<Rate, String> {
    if requests == 0 {
        return Err("`requests` must be at least 1".into());
    }
    Rate::new(requests, per).ok_or_else(|| "`per` must be longer than 0".to_owned())
}

/// The route's `rate_limit`, if any.
pub(crate) fn route_policy(
    i: usize,
    cfg: &RouteConfig,
    schemes: &[Scheme],
    parsed: &Parsed,
    problems: &mut Problems,
) -> Option<Policy> {
    let rl: &RateLimitConfig = cfg.rate_limit.as_ref()?;
    let at = parsed.route_loc(i, "rate_limit");
    let mut fail = |m: String| problems.push(at, format!("route `{}`: rate_limit: {m}", cfg.id));
    let measure = match rate(rl.requests, rl.per.0) {
        Ok(r) => Measure::Rate(r),
        Err(e) => {
            fail(e);
            return None;
        }
    };
    let key = match parse_key(rl.key.as_deref().unwrap_or("consumer"), schemes) {
        Ok(k) => k,
        Err(e) => {
            fail(e);
            return None;
        }
    };
    Some(with_alone_header(Policy {
        name: "route",
        prefix: format!("route:{}", cfg.id),
        measure,
        key,
        consistency: rl.consistency,
        on_store_error: rl.on_store_error,
        loc: at,
        alone_header: None,
    }))
}

fn plan_rate(name: &str, cfg: &PlanRateConfig, loc: crate::config::Location) -> Result<Policy, String> {
    Ok(Policy {
        name: "plan",
        prefix: format!("plan:{name}"),
        measure: Measure::Rate(rate(cfg.requests, cfg.per.0)?),
        key: KeySource::Consumer,
        consistency: cfg.consistency,
        on_store_error: cfg.on_store_error,
        loc,
        alone_header: None,
    })
}

fn plan_quota(name: &str, cfg: &QuotaConfig, loc: crate::config::Location) -> Result<Policy, String> {
    if cfg.requests == 0 {
        return Err("`requests` must be at least 1".into());
    }
    let per = match cfg.per {
        QuotaPer::Day => Per::Day,
        QuotaPer::Month => Per::Month,
    };
    Ok(Policy {
        name: "quota",
        prefix: format!("quota:{name}"),
        measure: Measure::Quota { requests: cfg.requests, per },
        key: KeySource::Consumer,
        consistency: Consistency::Exact,
        on_store_error: cfg.on_store_error,
        loc,
        alone_header: None,
    })
}

/// `plans` and the consumers' `plan`.
pub(crate) fn compile_plans(parsed: &Parsed, problems: &mut Problems) -> Plans {
    let cfg = &parsed.config;
    let mut plans = Plans::default();
    for (name, plan) in &cfg.plans {
        let mut policies = PlanPolicies::default();
        if let Some(r) = &plan.rate_limit {
            let at = parsed.loc(&["plans", name, "rate_limit"]);
            match plan_rate(name, r, at) {
                Ok(p) => policies.rate = Some(p),
                Err(e) => problems.push(at, format!("plan `{name}`: rate_limit: {e}")),
            }
        }
        if let Some(q) = &plan.quota {
            let at = parsed.loc(&["plans", name, "quota"]);
            match plan_quota(name, q, at) {
                Ok(p) => policies.quota = Some(p),
                Err(e) => problems.push(at, format!("plan `{name}`: quota: {e}")),
            }
        }
        plans.by_name.insert(name.clone(), policies);
    }
    let consumer_nodes = parsed.tree.get("consumers").map(|(n, _)| n.items()).unwrap_or(&[]);
    for consumer in &cfg.consumers {
        let Some(plan) = &consumer.plan else { continue };
        if cfg.plans.contains_key(plan) {
            plans.of_consumer.insert(consumer.id.clone(), plan.clone());
        } else {
            let at = consumer_nodes
                .iter()
                .find(|n| n.get("id").and_then(|(v, _)| v.to_json().as_str().map(|s| s == consumer.id)) == Some(true))
                .and_then(|n| n.get("plan").map(|(v, _)| v.loc))
                .unwrap_or(parsed.tree.loc);
            let known: Vec<&str> = cfg.plans.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none are defined".to_owned() } else { known.join(", ") };
            problems.push(at, format!("consumer `{}`: unknown plan `{plan}` (plans: {known})", consumer.id));
        }
    }
    plans
}
