//! Compiling `upstreams.NAME`: targets, weights, timeout, and the
//! balancing, retry and circuit-breaker policies, every problem located.

use crate::config::{Balance, Location, Parsed, Problems, RetryOn, UpstreamConfig};
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
    pub balance: Balance,
    pub retry: Option<RetryPolicy>,
    pub breaker: Option<BreakerPolicy>,
}

/// `retries`, compiled.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    /// Retries after the first try.
    pub attempts: u32,
    pub backoff: Duration,
    pub on: Vec<RetryOn>,
    pub per_try_timeout: Option<Duration>,
}

/// `circuit_breaker`, compiled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BreakerPolicy {
    pub failures: u32,
    pub open_for: Duration,
    pub max_ejected_percent: u8,
}

/// Default weight of a target.
pub(crate) const DEFAULT_WEIGHT: u32 = 100;
/// Largest weight of a target.
pub(crate) const MAX_WEIGHT: u32 = 1000;
/// Most retries a call may make.
const MAX_ATTEMPTS: u32 = 10;
/// The statuses and failures retried when `retries.on` is absent.
fn default_retry_on() -> Vec<RetryOn> {
    vec![RetryOn::Connect, RetryOn::Timeout, RetryOn::Status(502), RetryOn::Status(503), RetryOn::Status(504)]
}

impl Upstream {
    /// A request for this upstream: the binding / Lambda target in the
    /// extensions when there is one.
    pub(crate) fn mark(&self, req: &mut http::Request<bytes::Bytes>) {
        if let Some(t) = &self.special {
            req.extensions_mut().insert(t.clone());
        }
    }
}

impl Target {
    /// The URI for `path_and_query` (starting with `/`, or empty) on this target.
    pub(crate) fn uri(&self, path_and_query: &str) -> Result<http::Uri, String> {
        http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{}", self.base_path, path_and_query))
            .build()
            .map_err(|e| e.to_string())
    }
}

fn placeholder_target(host: &'static str) -> Target {
    Target {
        scheme: http::uri::Scheme::HTTP,
        authority: http::uri::Authority::from_static(host),
        base_path: String::new(),
        weight: DEFAULT_WEIGHT,
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
        let (balance, retry, breaker) = policies(name, cfg, parsed, problems);
        return Upstream {
            name: name.to_owned(),
            targets: vec![placeholder_target(host)],
            timeout,
            special: Some(target),
            special_loc: loc(key),
            balance,
            retry,
            breaker,
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
                let weight = t.weight.unwrap_or(DEFAULT_WEIGHT);
                if weight > MAX_WEIGHT {
                    problems
                        .push(at, format!("upstream `{name}`: a target's weight must be between 0 and {MAX_WEIGHT}"));
                }
                targets.push(Target { scheme, authority, base_path, weight });
            }
            Err(e) => problems.push(at, format!("upstream `{name}`: {e}")),
        }
    }
    if timeout.is_zero() {
        problems.push(loc("timeout"), format!("upstream `{name}`: timeout must be more than 0"));
    }
    let (balance, retry, breaker) = policies(name, cfg, parsed, problems);
    Upstream {
        name: name.to_owned(),
        targets,
        timeout,
        special: None,
        special_loc: loc("targets"),
        balance,
        retry,
        breaker,
    }
}

/// `balance`, `retries` and `circuit_breaker` of upstream `name`.
fn policies(
    name: &str,
    cfg: &UpstreamConfig,
    parsed: &Parsed,
    problems: &mut Problems,
) -> (Balance, Option<RetryPolicy>, Option<BreakerPolicy>) {
    let loc = |path: &[&str]| -> Location {
        let mut full = vec!["upstreams", name];
        full.extend_from_slice(path);
        parsed.loc(&full)
    };
    let retry = cfg.retries.as_ref().map(|r| {
        if r.attempts > MAX_ATTEMPTS {
            problems.push(
                loc(&["retries", "attempts"]),
                format!("upstream `{name}`: retries.attempts must be at most {MAX_ATTEMPTS}"),
            );
        }
        let on = r.on.clone().unwrap_or_else(default_retry_on);
        for o in &on {
            if let RetryOn::Status(s) = o
                && !(100..=599).contains(s)
            {
                problems.push(loc(&["retries", "on"]), format!("upstream `{name}`: retries.on: {s} is not a status"));
            }
        }
        let per_try_timeout = r.per_try_timeout.map(|d| d.0);
        if per_try_timeout.is_some_and(|d| d.is_zero()) {
            problems.push(
                loc(&["retries", "per_try_timeout"]),
                format!("upstream `{name}`: retries.per_try_timeout must be more than 0"),
            );
        }
        RetryPolicy {
            attempts: r.attempts.min(MAX_ATTEMPTS),
            backoff: r.backoff.map_or(Duration::from_millis(50), |d| d.0),
            on,
            per_try_timeout,
        }
    });
    let breaker = cfg.circuit_breaker.as_ref().map(|b| {
        let failures = b.failures.unwrap_or(5);
        if failures == 0 {
            problems.push(
                loc(&["circuit_breaker", "failures"]),
                format!("upstream `{name}`: circuit_breaker.failures must be at least 1"),
            );
        }
        let open_for = b.open_for.map_or(Duration::from_secs(30), |d| d.0);
        if open_for.is_zero() {
            problems.push(
                loc(&["circuit_breaker", "open_for"]),
                format!("upstream `{name}`: circuit_breaker.open_for must be more than 0"),
            );
        }
        let max_ejected_percent = b.max_ejected_percent.unwrap_or(50);
        if max_ejected_percent > 100 {
            problems.push(
                loc(&["circuit_breaker", "max_ejected_percent"]),
                format!("upstream `{name}`: circuit_breaker.max_ejected_percent must be at most 100"),
            );
        }
        BreakerPolicy { failures: failures.max(1), open_for, max_ejected_percent: max_ejected_percent.min(100) }
    });
    (cfg.balance.unwrap_or(Balance::WeightedRoundRobin), retry, breaker)
}
