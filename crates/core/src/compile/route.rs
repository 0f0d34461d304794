//! Compiled routes and the route table: a matchit router from path pattern to
//! a group of routes sharing that pattern, then a method check within the group.

use super::template::{Template, path_params};
use crate::config::{HeaderOps, Parsed, Problems, RouteConfig};
use http::{HeaderName, HeaderValue, Method};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct HeaderEdits {
    pub set: Vec<(HeaderName, Template)>,
    pub remove: Vec<HeaderName>,
}

#[derive(Debug, Clone)]
pub(crate) struct QueryEdits {
    pub set: Vec<(String, Template)>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub id: String,
    pub pattern: String,
    /// `None`: every method.
    pub methods: Option<Vec<Method>>,
    /// `None` for an aggregation (its backends name their upstreams).
    pub upstream: Option<usize>,
    pub rewrite: Option<Template>,
    pub timeout: Duration,
    /// Where the effective timeout was set (route, else its upstream).
    pub timeout_loc: crate::config::Location,
    pub request_headers: HeaderEdits,
    pub query: QueryEdits,
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    pub response_remove: Vec<HeaderName>,
    /// Method-override headers reach the upstream (`allow_method_override`).
    pub allow_method_override: bool,
    pub policy: super::auth::RoutePolicy,
    pub rate_limit: Option<super::limit::Policy>,
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

#[derive(Debug, Clone)]
struct Group {
    routes: Vec<usize>,
    allow: HeaderValue,
}

/// The outcome of matching a request against the table.
#[derive(Debug)]
pub(crate) enum Match {
    Found { route: usize, params: Vec<(String, String)> },
    MethodNotAllowed(HeaderValue),
    NotFound,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    router: matchit::Router<usize>,
    groups: Vec<Group>,
    patterns: Vec<String>,
}

impl RouteTable {
    pub(crate) fn lookup(&self, routes: &[Route], path: &str, method: &Method) -> Match {
        let Ok(m) = self.router.at(path) else {
            return Match::NotFound;
        };
        let Some(group) = self.groups.get(*m.value) else {
            return Match::NotFound;
        };
        let found = group.routes.iter().copied().find(|r| routes.get(*r).is_some_and(|r| r.accepts(method)));
        match found {
            Some(route) => {
                Match::Found { route, params: m.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
            }
            None => Match::MethodNotAllowed(group.allow.clone()),
        }
    }
}

fn header_edits(
    ops: &HeaderOps,
    params: &[String],
    what: &str,
    problems: &mut Problems,
    at: crate::config::Location,
) -> HeaderEdits {
    let mut set = Vec::new();
    for (name, value) in &ops.set {
        let Ok(h) = HeaderName::from_bytes(name.as_bytes()) else {
            problems.push(at, format!("{what}: `{name}` is not a header name"));
            continue;
        };
        if value.contains(['\r', '\n', '\0']) {
            problems.push(at, format!("{what}: the value of `{name}` contains a control character"));
            continue;
        }
        match Template::parse(value, params) {
            Ok(t) => set.push((h, t)),
            Err(e) => problems.push(at, format!("{what}: header `{name}`: {e}")),
        }
    }
    let mut remove = Vec::new();
    for name in &ops.remove {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(h) => remove.push(h),
            Err(_) => problems.push(at, format!("{what}: `{name}` is not a header name")),
        }
    }
    HeaderEdits { set, remove }
}

pub(crate) fn compile_route(
    i: usize,
    cfg: &RouteConfig,
    upstreams: &[super::upstream::Upstream],
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
    let rewrite = cfg.rewrite.as_ref().and_then(|r| {
        if !r.starts_with('/') {
            problems.push(loc("rewrite"), format!("route `{id}`: rewrite `{r}` must start with `/`"));
            return None;
        }
        if r.contains(['?', '#']) {
            problems.push(
                loc("rewrite"),
                format!("route `{id}`: rewrite `{r}` cannot hold a query or fragment (use request.query)"),
            );
            return None;
        }
        Template::parse(r, &params)
            .map_err(|e| problems.push(loc("rewrite"), format!("route `{id}`: rewrite: {e}")))
            .ok()
    });
    let policy = super::auth::route_policy(i, cfg, &params, auth, parsed, problems);
    let rate_limit = super::limit::route_policy(i, cfg, &policy.schemes, parsed, problems);
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
    let identity_templates = rewrite.iter().chain(request_templates(cfg, &params).iter()).any(Template::needs_identity);
    let identity_templates = identity_templates || translate.as_ref().is_some_and(|t| t.needs_identity());
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
        .unwrap_or(super::upstream::DEFAULT_TIMEOUT);
    let request_headers = header_edits(
        &cfg.request.headers,
        &params,
        &format!("route `{id}`: request.headers"),
        problems,
        loc("request"),
    );
    let mut query_set = Vec::new();
    for (name, value) in &cfg.request.query.set {
        match Template::parse(value, &params) {
            Ok(t) => query_set.push((name.clone(), t)),
            Err(e) => problems.push(loc("request"), format!("route `{id}`: request.query `{name}`: {e}")),
        }
    }
    let response =
        header_edits(&cfg.response.headers, &[], &format!("route `{id}`: response.headers"), problems, loc("response"));
    let mut response_headers = Vec::new();
    for (name, t) in response.set {
        if !t.is_literal() {
            problems.push(loc("response"), format!("route `{id}`: response header `{name}` must be a fixed value"));
            continue;
        }
        let text = t.render(
            &super::template::Inputs {
                params: &[],
                query: None,
                headers: &http::HeaderMap::new(),
                identity: None,
                legs: &[],
            },
            super::template::Landing::Header,
        );
        match HeaderValue::from_str(text.as_deref().unwrap_or("")) {
            Ok(v) => response_headers.push((name, v)),
            Err(_) => {
                problems.push(loc("response"), format!("route `{id}`: response header `{name}` has an invalid value"))
            }
        }
    }
    Route {
        rate_limit,
        aggregate,
        translate,
        id: id.clone(),
        pattern: cfg.path.clone(),
        methods,
        upstream,
        rewrite,
        timeout,
        timeout_loc,
        request_headers,
        query: QueryEdits { set: query_set, remove: cfg.request.query.remove.clone() },
        response_headers,
        response_remove: response.remove,
        allow_method_override: cfg.allow_method_override,
        policy,
    }
}

/// The request templates of a route (header and query values), for checks.
fn request_templates(cfg: &RouteConfig, params: &[String]) -> Vec<Template> {
    cfg.request
        .headers
        .set
        .values()
        .chain(cfg.request.query.set.values())
        .filter_map(|v| Template::parse(v, params).ok())
        .collect()
}

/// Builds the table, reporting duplicate ids, overlapping methods and path conflicts.
pub(crate) fn build_table(routes: &[Route], parsed: &Parsed, problems: &mut Problems) -> RouteTable {
    let mut table = RouteTable::default();
    for (i, route) in routes.iter().enumerate() {
        if routes[..i].iter().any(|r| r.id == route.id) && !route.id.is_empty() {
            problems.push(parsed.route_loc(i, "id"), format!("duplicate route id `{}`", route.id));
        }
        if let Some(g) = table.patterns.iter().position(|p| *p == route.pattern) {
            let group = &mut table.groups[g];
            for other in &group.routes {
                let o = &routes[*other];
                let overlap = match (&o.methods, &route.methods) {
                    (None, _) | (_, None) => true,
                    (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                };
                if overlap {
                    problems.push(
                        parsed.route_loc(i, "methods"),
                        format!(
                            "routes `{}` and `{}` both answer the same method on `{}`",
                            o.id, route.id, route.pattern
                        ),
                    );
                }
            }
            group.routes.push(i);
            continue;
        }
        if route.pattern.starts_with('/')
            && let Err(e) = table.router.insert(route.pattern.clone(), table.groups.len())
        {
            problems.push(parsed.route_loc(i, "path"), format!("route `{}`: path `{}`: {e}", route.id, route.pattern));
            continue;
        }
        table.patterns.push(route.pattern.clone());
        table.groups.push(Group { routes: vec![i], allow: HeaderValue::from_static("") });
    }
    for group in &mut table.groups {
        let mut allow: Vec<String> = Vec::new();
        for r in &group.routes {
            if let Some(ms) = &routes[*r].methods {
                for m in ms {
                    allow.push(m.to_string());
                    if *m == Method::GET {
                        allow.push("HEAD".into());
                    }
                }
            }
        }
        allow.sort();
        allow.dedup();
        group.allow = HeaderValue::from_str(&allow.join(", ")).unwrap_or(HeaderValue::from_static(""));
    }
    table
}
