//! Compiled upstreams: parsed target URLs and the effective timeout.

use crate::config::{Location, Parsed, Problems, UpstreamConfig};
use std::time::Duration;

/// Upstream timeout when the config names none (below every platform's cap).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
    /// Path prefix of the target URL, without a trailing `/` ("" for none).
    pub base_path: String,
    pub weight: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub name: String,
    pub targets: Vec<Target>,
    pub timeout: Duration,
}

impl Upstream {
    /// The URI for `path_and_query` (starting with `/`) on the first target.
    pub(crate) fn uri(&self, path_and_query: &str) -> Result<http::Uri, http::Error> {
        // Later issues choose among targets (balancing, health); the list is complete already.
        let target = &self.targets[0];
        http::Uri::builder()
            .scheme(target.scheme.clone())
            .authority(target.authority.clone())
            .path_and_query(format!("{}{}", target.base_path, path_and_query))
            .build()
    }
}

pub(crate) fn parse_target(url: &str) -> Result<(http::uri::Scheme, http::uri::Authority, String), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let scheme = uri.scheme().cloned().ok_or_else(|| format!("`{url}` needs a scheme (http:// or https://)"))?;
    if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
        return Err(format!("`{url}`: only http and https targets are supported"));
    }
    let authority = uri.authority().cloned().ok_or_else(|| format!("`{url}` has no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!("`{url}`: credentials in target URLs are not supported"));
    }
    if uri.query().is_some() {
        return Err(format!("`{url}`: a target URL cannot carry a query"));
    }
    let base = uri.path().trim_end_matches('/').to_owned();
    Ok((scheme, authority, base))
}

pub(crate) fn compile(name: &str, cfg: &UpstreamConfig, parsed: &Parsed, problems: &mut Problems) -> Upstream {
    let loc = |field: &str| -> Location { parsed.loc(&["upstreams", name, field]) };
    if cfg.targets.is_empty() {
        problems.push(loc("targets"), format!("upstream `{name}` has no targets"));
    }
    let mut targets = Vec::new();
    for (i, t) in cfg.targets.iter().enumerate() {
        let at = parsed
            .tree
            .get("upstreams")
            .and_then(|(u, _)| u.get(name))
            .and_then(|(u, _)| u.get("targets"))
            .and_then(|(t, _)| t.items().get(i))
            .map_or_else(|| loc("targets"), |n| n.get("url").map_or(n.loc, |(u, _)| u.loc));
        match parse_target(&t.url) {
            Ok((scheme, authority, base_path)) => {
                let weight = t.weight.unwrap_or(1);
                if weight == 0 {
                    problems.push(at, format!("upstream `{name}`: a target's weight must be at least 1"));
                }
                targets.push(Target { scheme, authority, base_path, weight });
            }
            Err(e) => problems.push(at, format!("upstream `{name}`: {e}")),
        }
    }
    let timeout = cfg.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
    if timeout.is_zero() {
        problems.push(loc("timeout"), format!("upstream `{name}`: timeout must be more than 0"));
    }
    Upstream { name: name.to_owned(), targets, timeout }
}
