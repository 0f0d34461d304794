//! Compiles a route's `aggregate`: each backend's templates, method, shaping
//! and timeouts, and the order legs may run in (a leg waits for the legs its
//! templates read). Every problem is reported at the route's `aggregate` key.

use super::shape::{FieldPath, parse_path};
use crate::config::{AggregateConfig, BackendConfig, Location, OnPartial, Parsed, Problems};
use crate::template::Template;
use crate::upstream::Upstream;
use http::Method;
use serde_json::Value;
use std::time::Duration;

/// Most legs one aggregation may have.
const MAX_LEGS: usize = 64;

/// One backend of an aggregation.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub name: String,
    pub upstream: usize,
    pub method: Method,
    /// The path (`Landing::Path`) and the query (`Landing::Query`), split at `?`.
    pub path: Template,
    pub query: Option<Template>,
    pub select: Option<Vec<FieldPath>>,
    pub extract: Option<FieldPath>,
    pub fallback: Option<Value>,
    pub required: bool,
    pub timeout: Duration,
    /// Legs (indices) whose answers this one's templates read.
    pub deps: Vec<usize>,
}

/// A compiled `aggregate`.
#[derive(Debug, Clone)]
pub(crate) struct Aggregate {
    /// The deadline of the whole call.
    pub timeout: Duration,
    pub on_partial: OnPartial,
    pub legs: Vec<Leg>,
}

impl Aggregate {
    pub(crate) fn backend_names(&self) -> Vec<&str> {
        self.legs.iter().map(|l| l.name.as_str()).collect()
    }

    /// The most legs that can be in flight at once (for `check --target`).
    pub(crate) fn fan_out(&self) -> usize {
        self.legs.len()
    }
}

/// What compiling one aggregation needs to know about its route.
pub(crate) struct RouteFacts<'a> {
    pub id: &'a str,
    pub params: &'a [String],
    pub authenticated: bool,
    /// The route's own `timeout`, if set.
    pub timeout: Option<Duration>,
    pub loc: Location,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn compile_leg(
    b: &BackendConfig,
    names: &[String],
    upstreams: &[Upstream],
    parsed: &Parsed,
    route: &RouteFacts<'_>,
    default_timeout: Duration,
    errors: &mut Vec<String>,
) -> Option<Leg> {
    let name = &b.name;
    let upstream = match upstreams.iter().position(|u| u.name == b.upstream) {
        Some(u) => Some(u),
        None if parsed.broken_upstreams.contains(&b.upstream) => None,
        None => {
            errors.push(format!("backend `{name}`: unknown upstream `{}`", b.upstream));
            None
        }
    };
    let method = match &b.method {
        None => Some(Method::GET),
        Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| errors.push(format!("backend `{name}`: `{m}` is not an HTTP method")))
            .ok(),
    };
    if !b.path.starts_with('/') {
        errors.push(format!("backend `{name}`: path `{}` must start with `/`", b.path));
        return None;
    }
    let (path_text, query_text) = match b.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (b.path.as_str(), None),
    };
    let parse = |text: &str, errors: &mut Vec<String>| {
        Template::parse_with_legs(text, route.params, names)
            .map_err(|e| errors.push(format!("backend `{name}`: path: {e}")))
            .ok()
    };
    let path = parse(path_text, errors);
    let query = match query_text {
        Some(q) => parse(q, errors).map(Some),
        None => Some(None),
    };
    let (path, query) = (path?, query?);
    let reads: Vec<&str> = path.legs().into_iter().chain(query.iter().flat_map(|q| q.legs())).collect();
    if reads.contains(&name.as_str()) {
        errors.push(format!("backend `{name}` reads its own answer"));
    }
    let needs_identity = path.needs_identity() || query.as_ref().is_some_and(Template::needs_identity);
    if needs_identity && !route.authenticated {
        errors.push(format!("backend `{name}`: `{{claims.*}}` and `{{consumer.id}}` need `auth` on the route"));
    }
    if b.select.is_some() && b.extract.is_some() {
        errors.push(format!("backend `{name}`: `select` and `extract` exclude each other"));
    }
    let select = match &b.select {
        None => Some(None),
        Some(list) => {
            let parsed: Option<Vec<FieldPath>> = list.iter().map(|f| parse_path(f)).collect();
            if parsed.is_none() {
                errors.push(format!("backend `{name}`: select: a field name is empty"));
            }
            parsed.map(Some)
        }
    };
    let extract = match &b.extract {
        None => Some(None),
        Some(f) => match parse_path(f) {
            Some(p) => Some(Some(p)),
            None => {
                errors.push(format!("backend `{name}`: extract: `{f}` is not a field name"));
                None
            }
        },
    };
    let own_timeout = b.timeout.map(|t| t.0).or_else(|| upstream.and_then(|u| upstreams.get(u)).map(|u| u.timeout));
    if b.timeout.is_some_and(|t| t.0.is_zero()) {
        errors.push(format!("backend `{name}`: timeout must be longer than 0"));
    }
    let deps = reads.iter().filter_map(|r| names.iter().position(|n| n == r)).collect();
    Some(Leg {
        name: name.clone(),
        upstream: upstream?,
        method: method?,
        path,
        query,
        select: select?,
        extract: extract?,
        fallback: b.fallback.clone(),
        required: b.required,
        timeout: own_timeout.unwrap_or(default_timeout).min(default_timeout),
        deps,
    })
}

/// Legs in a cycle of dependencies, if any (by name).
fn cycle(legs: &[Leg]) -> Option<Vec<String>> {
    // Kahn's algorithm: whatever cannot be ordered is in (or behind) a cycle.
    let mut waiting: Vec<usize> = legs.iter().map(|l| l.deps.len()).collect();
    let mut ready: Vec<usize> = (0..legs.len()).filter(|i| waiting[*i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for (j, leg) in legs.iter().enumerate() {
            let hits = leg.deps.iter().filter(|d| **d == i).count();
            if hits > 0 {
                waiting[j] -= hits;
                if waiting[j] == 0 {
                    ready.push(j);
                }
            }
        }
    }
    (done < legs.len())
        .then(|| legs.iter().zip(&waiting).filter(|(_, w)| **w > 0).map(|(l, _)| l.name.clone()).collect())
}

pub(crate) fn compile(
    cfg: &AggregateConfig,
    route: RouteFacts<'_>,
    upstreams: &[Upstream],
    parsed: &Parsed,
    problems: &mut Problems,
) -> Option<Aggregate> {
    let mut errors = Vec::new();
    if cfg.backends.is_empty() {
        errors.push("`backends` is empty".to_owned());
    }
    if cfg.backends.len() > MAX_LEGS {
        errors.push(format!("{} backends: at most {MAX_LEGS}", cfg.backends.len()));
    }
    let names: Vec<String> = cfg.backends.iter().map(|b| b.name.clone()).collect();
    for (i, name) in names.iter().enumerate() {
        if !valid_name(name) {
            errors.push(format!(
                "backend name `{name}`: use letters, digits, `_` and `-`, not starting with `_` (`_errors` is reserved)"
            ));
        } else if names[..i].contains(name) {
            errors.push(format!("backend name `{name}` is used twice"));
        }
    }
    let timeout = cfg.timeout.map(|t| t.0).or(route.timeout).unwrap_or(crate::upstream::DEFAULT_TIMEOUT);
    if timeout.is_zero() {
        errors.push("timeout must be longer than 0".to_owned());
    }
    let legs: Vec<Leg> = cfg
        .backends
        .iter()
        .filter_map(|b| compile_leg(b, &names, upstreams, parsed, &route, timeout, &mut errors))
        .collect();
    if errors.is_empty()
        && let Some(in_cycle) = cycle(&legs)
    {
        errors.push(format!("backends wait for each other in a cycle: {}", in_cycle.join(", ")));
    }
    for e in &errors {
        problems.push(route.loc, format!("route `{}`: aggregate: {e}", route.id));
    }
    (errors.is_empty() && legs.len() == cfg.backends.len()).then_some(Aggregate {
        timeout,
        on_partial: cfg.on_partial,
        legs,
    })
}
