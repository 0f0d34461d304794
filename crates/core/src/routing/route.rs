//! A compiled route: its pattern and methods, its upstream (or aggregation),
//! and the compiled policy of every feature that applies to it (auth, rate
//! limit, edits, translation), each compiled by its own feature.

use crate::config::{Parsed, Problems, RouteConfig};
use crate::template::path_params;
use http::Method;
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub id: String,
    pub pattern: String,
    /// `None`: every method.
    pub methods: Option<Vec<Method>>,
    /// `None` for an aggregation (its backends name their upstreams).
    pub upstream: Option<usize>,
    pub timeout: Duration,
    /// Where the effective timeout was set (route, else its upstream).
    pub timeout_loc: crate::config::Location,
    /// Request and response edits (`rewrite`, `request`, `response`).
    pub edits: crate::transform::Edits,
    pub policy: crate::auth::RoutePolicy,
    pub rate_limit: Option<crate::ratelimit::Policy>,
    pub aggregate: Option<crate::aggregate::Aggregate>,
    pub translate: Option<crate::translate::Translate>,
}

impl Route {
    /// The upstream answer cap for this route: `limits.max_upstream_body`,
    /// and at most the translation cap when the answer is translated.
    pub(crate) fn answer_limit(&self, max_upstream_body: u64) -> u64 {
        match self.translate {
            Some(_) => max_upstream_body.min(crate::translate::MAX_ANSWER_BYTES as u64),
            None => max_upstream_body,
        }
    }

    pub(crate) fn accepts(&self, method: &Method) -> bool {
        match &self.methods {
            None => true,
            Some(ms) => ms.contains(method) || (*method == Method::HEAD && ms.contains(&Method::GET)),
        }
    }
}

pub(crate) fn compile_route(
    i: usize,
    cfg: &RouteConfig,
    upstreams: &[crate::upstream::Upstream],
    auth: &crate::auth::Auth,
    parsed: &Parsed,
    problems: &mut Problems,
) -> Route {
    let loc = |field: &str| parsed.route_loc(i, field);
    let id = &cfg.id;
    if id.is_empty() {
        problems.push(loc("id"), "route `id` is empty");
    }
    if !cfg.path.starts_with('/') {
        problems.push(loc("path"), format!("route `{id}`: path `{}` must start with `/`", cfg.path));
    }
    if cfg.path == "/_gateway" || cfg.path.starts_with("/_gateway/") {
        problems.push(loc("path"), format!("route `{id}`: `/_gateway/` is reserved for the admin API"));
    }
    let params = path_params(&cfg.path);
    let methods = cfg.methods.as_ref().map(|ms| {
        let mut out = Vec::new();
        for m in ms {
            match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                Ok(method) if !out.contains(&method) => out.push(method),
                Ok(_) => {}
                Err(_) => problems.push(loc("methods"), format!("route `{id}`: `{m}` is not an HTTP method")),
            }
        }
        if out.is_empty() {
            problems.push(loc("methods"), format!("route `{id}`: `methods` is empty (omit it to accept every method)"));
        }
        out
    });
    let upstream = match (&cfg.upstream, &cfg.aggregate) {
        (Some(_), Some(_)) => {
            problems.push(
                loc("upstream"),
                format!(
                    "route `{id}`: `upstream` and `aggregate` exclude each other (each backend names its upstream)"
                ),
            );
            None
        }
        (None, None) => {
            problems.push(loc("id"), format!("route `{id}`: needs an `upstream` (or an `aggregate`)"));
            None
        }
        (None, Some(_)) => None,
        (Some(name), None) => match upstreams.iter().position(|u| &u.name == name) {
            Some(u) => Some(u),
            None if parsed.broken_upstreams.contains(name) => None,
            None => {
                let known: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                problems.push(
                    loc("upstream"),
                    format!(
                        "route `{id}`: unknown upstream `{name}` (known: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                );
                None
            }
        },
    };
    if cfg.aggregate.is_some() && cfg.translate.is_some() {
        problems.push(
            loc("translate"),
            format!("route `{id}`: `translate` applies to an `upstream`, not to an `aggregate`"),
        );
    }
    let policy = crate::auth::route_policy(i, cfg, &params, auth, parsed, problems);
    let rate_limit = crate::ratelimit::route_policy(i, cfg, &policy.schemes, parsed, problems);
    let aggregate = cfg.aggregate.as_ref().and_then(|a| {
        let facts = crate::aggregate::RouteFacts {
            id,
            params: &params,
            authenticated: !policy.schemes.is_empty(),
            timeout: cfg.timeout.map(|t| t.0),
            loc: parsed.route_loc(i, "aggregate"),
        };
        crate::aggregate::compile(a, facts, upstreams, parsed, problems)
    });
    let translate = cfg.translate.as_ref().and_then(|t| match crate::translate::compile(t, &params) {
        Ok(t) => Some(t),
        Err(messages) => {
            for m in messages {
                problems.push(loc("translate"), format!("route `{id}`: translate: {m}"));
            }
            None
        }
    });
    let unauthenticated = policy.schemes.is_empty() && cfg.auth.is_empty();
    let edits = crate::transform::edits::compile(i, cfg, &params, parsed, problems);
    let identity_templates = edits.needs_identity() || translate.as_ref().is_some_and(|t| t.needs_identity());
    if unauthenticated && identity_templates {
        problems
            .push(loc("auth"), format!("route `{id}`: `{{claims.*}}` and `{{consumer.id}}` need `auth` on the route"));
    }
    let timeout_loc = if cfg.timeout.is_some() || cfg.upstream.is_none() {
        loc("timeout")
    } else {
        parsed.loc(&["upstreams", cfg.upstream.as_deref().unwrap_or(""), "timeout"])
    };
    let timeout = cfg
        .timeout
        .map(|d| d.0)
        .or_else(|| upstream.and_then(|u| upstreams.get(u)).map(|u| u.timeout))
        .unwrap_or(crate::upstream::DEFAULT_TIMEOUT);
    Route {
        rate_limit,
        aggregate,
        translate,
        id: id.clone(),
        pattern: cfg.path.clone(),
        methods,
        upstream,
        timeout,
        timeout_loc,
        edits,
        policy,
    }
}
