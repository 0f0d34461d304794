//! `check --target`: a compiled config against one platform's limits. Things
//! the platform cannot do at all are errors; things it limits are warnings.
//! Also the warnings `check` gives whatever the target (limit keys a client
//! chooses on public routes).

use crate::compiled::CompiledConfig;
use crate::config::{Consistency, Location};
use crate::platform::{Runtime, UpstreamTarget};
use crate::ratelimit::{KeySource, Policy};
use crate::routing::Route;
use std::time::Duration;

/// A deployment platform `tollgate check --target` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPlatform {
    /// Cloudflare Workers (`--target cloudflare`).
    Cloudflare,
    /// AWS Lambda (`--target lambda`).
    Lambda,
}

/// One finding of a target check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFinding {
    /// `true`: the platform cannot do this at all (an error); `false`: a warning
    /// about something it limits.
    pub error: bool,
    /// Where in the config it points.
    pub location: Location,
    /// What the finding is, for people.
    pub message: String,
}

impl TargetFinding {
    /// `file:line:col: message` (`file:line:col: warning: message` for a
    /// warning): how `tollgate check` and every adapter print a finding.
    pub fn render(&self, file: &str) -> String {
        let kind = if self.error { "" } else { "warning: " };
        format!("{file}:{}:{}: {kind}{}", self.location.line, self.location.col, self.message)
    }
}

/// API Gateway's integration timeout; function URLs stop at the function's Timeout (30 s in template.yaml).
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(29);

/// Subrequests one Workers invocation may make on the free plan.
const WORKERS_FREE_SUBREQUESTS: usize = 50;

/// What one exact limit key can take: a Durable Object is single-threaded
/// (about 1,000 requests/s each); a DynamoDB item takes at most 1,000
/// writes/s (one partition's limit).
const PER_KEY_CEILING: f64 = 1_000.0;

fn per_key_findings(what: &str, policy: &Policy, target: TargetPlatform, out: &mut Vec<TargetFinding>) {
    if policy.consistency != Consistency::Exact {
        return;
    }
    let store = match target {
        TargetPlatform::Cloudflare => "one Durable Object (about 1,000 requests/s each)",
        TargetPlatform::Lambda => "one DynamoDB item (at most 1,000 writes/s)",
    };
    if policy.key == KeySource::Route {
        out.push(TargetFinding {
            error: false,
            location: policy.loc,
            message: format!(
                "{what}: `key: route` sends every request of the route to {store}; past that rate checks queue or fail (use consistency: approximate, or a finer key)"
            ),
        });
    } else if policy.per_key_rate() > PER_KEY_CEILING {
        out.push(TargetFinding {
            error: false,
            location: policy.loc,
            message: format!(
                "{what}: {:.0} requests/s per key is more than {store} can check; the store becomes the limit",
                policy.per_key_rate()
            ),
        });
    }
}

/// A rate limit keyed by something the client chooses, on a route anyone
/// may call: every new value is a new counter.
fn client_chosen_key(route: &Route) -> Option<TargetFinding> {
    let policy = route.rate_limit.as_ref()?;
    let KeySource::Header(name) = &policy.key else { return None };
    if !route.policy.schemes.is_empty() {
        return None;
    }
    Some(TargetFinding {
        error: false,
        location: policy.loc,
        message: format!(
            "route `{}`: rate_limit: `key: header:{name}` is chosen by the client on a route without `auth`: each new value is a new counter, so a client that changes it is never limited, and each new key costs the limiter store an entry (process memory locally, a Durable Object on Workers, a DynamoDB item on Lambda); key by `ip`, or add `auth` to the route",
            route.id
        ),
    })
}

/// Warnings about the config that hold on every runtime (`tollgate
/// check` prints them with or without `--target`).
pub(crate) fn check_warnings(config: &CompiledConfig) -> Vec<TargetFinding> {
    config.routes.iter().filter_map(client_chosen_key).collect()
}

/// What this config asks of `runtime` that it cannot do at all (errors
/// only); the adapters refuse to start with these, printed as
/// `file:line:col: message` like `check --target` prints them.
pub(crate) fn unsupported_on(config: &CompiledConfig, runtime: Runtime) -> Vec<TargetFinding> {
    let target = match runtime {
        Runtime::Cloudflare => Some(TargetPlatform::Cloudflare),
        Runtime::Lambda => Some(TargetPlatform::Lambda),
        Runtime::Local => None,
    };
    let mut out: Vec<TargetFinding> = match target {
        Some(t) => check_target(config, t).into_iter().filter(|f| f.error).collect(),
        None => Vec::new(),
    };
    if runtime == Runtime::Local {
        for u in &config.upstreams {
            if let Some(special) = &u.special {
                let what = match special {
                    UpstreamTarget::Binding(b) => format!("`binding: {b}` (a Workers service binding)"),
                    UpstreamTarget::Lambda(l) => format!("`lambda: {l}` (a direct Lambda invoke)"),
                };
                out.push(TargetFinding {
                    error: true,
                    location: u.special_loc,
                    message: format!("upstream `{}`: {what} cannot be reached from the local server", u.name),
                });
            }
        }
    }
    out
}

pub(crate) fn check_target(config: &CompiledConfig, target: TargetPlatform) -> Vec<TargetFinding> {
    let mut out = Vec::new();
    for u in &config.upstreams {
        let cannot = match (&u.special, target) {
            (Some(UpstreamTarget::Binding(b)), TargetPlatform::Lambda) => {
                Some(format!("upstream `{}`: `binding: {b}` is a Workers service binding; Lambda has none", u.name))
            }
            (Some(UpstreamTarget::Lambda(l)), TargetPlatform::Cloudflare) => Some(format!(
                "upstream `{}`: `lambda: {l}` is a direct Lambda invoke; Workers cannot make one (put the function behind a URL)",
                u.name
            )),
            _ => None,
        };
        if let Some(message) = cannot {
            out.push(TargetFinding { error: true, location: u.special_loc, message });
        }
    }
    for r in &config.routes {
        if let Some(p) = &r.rate_limit {
            per_key_findings(&format!("route `{}`: rate_limit", r.id), p, target, &mut out);
        }
    }
    let mut plans: Vec<_> = config.plans.by_name.iter().collect();
    plans.sort_by(|a, b| a.0.cmp(b.0));
    for (name, p) in plans {
        for policy in p.rate.iter().chain(p.quota.iter()) {
            per_key_findings(&format!("plan `{name}`: {}", policy.name), policy, target, &mut out);
        }
    }
    if target == TargetPlatform::Cloudflare {
        for r in &config.routes {
            let Some(a) = &r.aggregate else { continue };
            // Each leg is a subrequest; so is each exact limiter check.
            let limits = usize::from(r.rate_limit.is_some()) + 2;
            let worst = a.fan_out() + limits;
            if worst > WORKERS_FREE_SUBREQUESTS {
                out.push(TargetFinding {
                    error: false,
                    location: r.timeout_loc,
                    message: format!(
                        "route `{}`: up to {worst} subrequests per request ({} backends + {limits} limiter checks), more than the Workers free plan's {WORKERS_FREE_SUBREQUESTS} (paid plans: 10,000)",
                        r.id,
                        a.fan_out()
                    ),
                });
            }
        }
    }
    if target == TargetPlatform::Lambda {
        for r in &config.routes {
            if r.timeout > LAMBDA_TIMEOUT {
                out.push(TargetFinding {
                    error: false,
                    location: r.timeout_loc,
                    message: format!(
                        "route `{}`: timeout {} s is longer than API Gateway's 29 s integration limit (and the 30 s function timeout in template.yaml)",
                        r.id,
                        r.timeout.as_secs()
                    ),
                });
            }
        }
    }
    out
}
