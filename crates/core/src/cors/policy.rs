//! Compiled CORS policy: which origins get CORS headers, and the preflight answer.

use crate::config::{CorsConfig, Parsed, Problems};
use http::{HeaderName, HeaderValue, Method};

#[derive(Debug, Clone)]
pub(crate) struct Cors {
    pub any_origin: bool,
    pub origins: Vec<String>,
    pub allow_methods: HeaderValue,
    pub allow_headers: Option<HeaderValue>,
    pub expose_headers: Option<HeaderValue>,
    pub max_age: Option<HeaderValue>,
    pub allow_credentials: bool,
}

impl Cors {
    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    pub(crate) fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        let text = origin.to_str().ok()?;
        if self.any_origin {
            return Some(if self.allow_credentials { origin.clone() } else { HeaderValue::from_static("*") });
        }
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(text)).then(|| origin.clone())
    }
}

fn valid_origin(o: &str) -> bool {
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' '])
        && rest.parse::<http::uri::Authority>().is_ok()
}

fn join_list(items: &[String]) -> Option<HeaderValue> {
    if items.is_empty() {
        return None;
    }
    HeaderValue::from_str(&items.join(", ")).ok()
}

pub(crate) fn compile(cfg: &CorsConfig, parsed: &Parsed, problems: &mut Problems) -> Cors {
    let loc = |field: &str| parsed.loc(&["cors", field]);
    let any_origin = cfg.allow_origins.iter().any(|o| o == "*");
    if any_origin && cfg.allow_credentials {
        problems.push(loc("allow_credentials"), "cors: `allow_origins: [\"*\"]` cannot be combined with `allow_credentials: true`; list the origins instead");
    }
    if cfg.allow_origins.is_empty() {
        problems.push(loc("allow_origins"), "cors: `allow_origins` is empty; list origins or remove `cors`");
    }
    for o in cfg.allow_origins.iter().filter(|o| *o != "*") {
        if !valid_origin(o) {
            problems
                .push(loc("allow_origins"), format!("cors: `{o}` is not an origin (scheme://host[:port], no path)"));
        }
    }
    let mut methods = Vec::new();
    for m in &cfg.allow_methods {
        match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(m) => methods.push(m.to_string()),
            Err(_) => problems.push(loc("allow_methods"), format!("cors: `{m}` is not an HTTP method")),
        }
    }
    if methods.is_empty() {
        methods = ["GET", "HEAD", "POST"].map(String::from).to_vec();
    }
    for h in cfg.allow_headers.iter().chain(&cfg.expose_headers) {
        if HeaderName::from_bytes(h.as_bytes()).is_err() {
            problems.push(loc("allow_headers"), format!("cors: `{h}` is not a header name"));
        }
    }
    Cors {
        any_origin,
        origins: cfg.allow_origins.iter().filter(|o| *o != "*").cloned().collect(),
        allow_methods: join_list(&methods).unwrap_or(HeaderValue::from_static("GET, HEAD, POST")),
        allow_headers: join_list(&cfg.allow_headers),
        expose_headers: join_list(&cfg.expose_headers),
        max_age: cfg.max_age.map(|d| HeaderValue::from(d.0.as_secs())),
        allow_credentials: cfg.allow_credentials,
    }
}
