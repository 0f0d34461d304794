//! Upstreams: the compiled targets (parsed URLs, weights, the effective
//! timeout, a binding or Lambda function), the resource bounds of `limits`,
//! and calling one through the upstream port under a deadline.

pub(crate) mod bounds;
mod call;

pub(crate) use call::{refusal, send_within};

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
    /// `Some` for a service binding or a Lambda function (then `targets`
    /// holds one placeholder target).
    pub special: Option<crate::platform::UpstreamTarget>,
    /// Where `binding` / `lambda` was written.
    pub special_loc: Location,
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

    /// A request for this upstream: `uri` as built by [`Upstream::uri`], and
    /// the binding / Lambda target in the extensions when there is one.
    pub(crate) fn mark(&self, req: &mut http::Request<bytes::Bytes>) {
        if let Some(t) = &self.special {
            req.extensions_mut().insert(t.clone());
        }
    }
}

fn placeholder_target(host: &'static str) -> Target {
    Target {
        scheme: http::uri::Scheme::HTTP,
        authority: http::uri::Authority::from_static(host),
        base_path: String::new(),
        weight: 1,
    }
}

/// `binding` or `lambda`: a name a platform can resolve.
fn valid_special_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 170
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.' | b'/'))
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
    let timeout = cfg.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0);
    let kinds =
        usize::from(!cfg.targets.is_empty()) + usize::from(cfg.binding.is_some()) + usize::from(cfg.lambda.is_some());
    if kinds > 1 {
        problems.push(
            loc("targets"),
            format!("upstream `{name}`: give one of `targets`, `binding` or `lambda`, not several"),
        );
    }
    let special = match (&cfg.binding, &cfg.lambda) {
        (Some(b), _) => Some((crate::platform::UpstreamTarget::Binding(b.clone()), "binding", b, "binding.internal")),
        (None, Some(l)) => Some((crate::platform::UpstreamTarget::Lambda(l.clone()), "lambda", l, "lambda.internal")),
        (None, None) => None,
    };
    if timeout.is_zero() && special.is_some() {
        problems.push(loc("timeout"), format!("upstream `{name}`: timeout must be more than 0"));
    }
    if let Some((target, key, value, host)) = special {
        if !valid_special_name(value) {
            problems.push(loc(key), format!("upstream `{name}`: `{value}` is not a valid {key} name"));
        }
        return Upstream {
            name: name.to_owned(),
            targets: vec![placeholder_target(host)],
            timeout,
            special: Some(target),
            special_loc: loc(key),
        };
    }
    if cfg.targets.is_empty() {
        problems.push(loc("targets"), format!("upstream `{name}` has no targets (or `binding` / `lambda`)"));
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
    if timeout.is_zero() {
        problems.push(loc("timeout"), format!("upstream `{name}`: timeout must be more than 0"));
    }
    Upstream { name: name.to_owned(), targets, timeout, special: None, special_loc: loc("targets") }
}
