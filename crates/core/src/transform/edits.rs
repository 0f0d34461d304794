//! A route's request and response edits, compiled from its config with every
//! problem reported at its location: the path rewrite, header and query
//! edits towards the upstream, and fixed header edits on the answer.

use crate::config::{HeaderOps, Location, Parsed, Problems, RouteConfig};
use crate::template::{Inputs, Landing, Template};
use http::{HeaderName, HeaderValue};

/// Headers to set (templates) and to remove.
#[derive(Debug, Clone)]
pub(crate) struct HeaderEdits {
    pub set: Vec<(HeaderName, Template)>,
    pub remove: Vec<HeaderName>,
}

/// Query parameters to set (templates) and to remove.
#[derive(Debug, Clone)]
pub(crate) struct QueryEdits {
    pub set: Vec<(String, Template)>,
    pub remove: Vec<String>,
}

/// Everything a route changes on the way to the upstream and back.
#[derive(Debug, Clone)]
pub(crate) struct Edits {
    pub rewrite: Option<Template>,
    pub request_headers: HeaderEdits,
    pub query: QueryEdits,
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    pub response_remove: Vec<HeaderName>,
    /// Method-override headers reach the upstream (`allow_method_override`).
    pub allow_method_override: bool,
}

impl Edits {
    /// Whether a request template reads `{claims.*}` or `{consumer.id}`.
    pub(crate) fn needs_identity(&self) -> bool {
        self.rewrite.iter().chain(self.request_headers.set.iter().map(|(_, t)| t)).any(Template::needs_identity)
            || self.query.set.iter().any(|(_, t)| t.needs_identity())
    }
}

fn header_edits(ops: &HeaderOps, params: &[String], what: &str, problems: &mut Problems, at: Location) -> HeaderEdits {
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

/// Compiles route `i`'s edits; `params` are its path parameters.
pub(crate) fn compile(
    i: usize,
    cfg: &RouteConfig,
    params: &[String],
    parsed: &Parsed,
    problems: &mut Problems,
) -> Edits {
    let loc = |field: &str| parsed.route_loc(i, field);
    let id = &cfg.id;
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
        Template::parse(r, params)
            .map_err(|e| problems.push(loc("rewrite"), format!("route `{id}`: rewrite: {e}")))
            .ok()
    });
    let request_headers =
        header_edits(&cfg.request.headers, params, &format!("route `{id}`: request.headers"), problems, loc("request"));
    let mut query_set = Vec::new();
    for (name, value) in &cfg.request.query.set {
        match Template::parse(value, params) {
            Ok(t) => query_set.push((name.clone(), t)),
            Err(e) => problems.push(loc("request"), format!("route `{id}`: request.query `{name}`: {e}")),
        }
    }
    let response =
        header_edits(&cfg.response.headers, &[], &format!("route `{id}`: response.headers"), problems, loc("response"));
    let mut response_headers = Vec::new();
    let nothing = http::HeaderMap::new();
    let no_inputs = Inputs { params: &[], query: None, headers: &nothing, identity: None, legs: &[] };
    for (name, t) in response.set {
        if !t.is_literal() {
            problems.push(loc("response"), format!("route `{id}`: response header `{name}` must be a fixed value"));
            continue;
        }
        let text = t.render(&no_inputs, Landing::Header);
        match HeaderValue::from_str(text.as_deref().unwrap_or("")) {
            Ok(v) => response_headers.push((name, v)),
            Err(_) => {
                problems.push(loc("response"), format!("route `{id}`: response header `{name}` has an invalid value"))
            }
        }
    }
    Edits {
        rewrite,
        request_headers,
        query: QueryEdits { set: query_set, remove: cfg.request.query.remove.clone() },
        response_headers,
        response_remove: response.remove,
        allow_method_override: cfg.allow_method_override,
    }
}
