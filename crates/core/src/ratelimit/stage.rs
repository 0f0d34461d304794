//! The rate-limit stage: every policy that applies to a request (the route's
//! `rate_limit`, the consumer's plan rate and quota) is checked through the
//! limiter port, all at once. The request passes only if all admit; when one
//! refuses, the units the others took are given back, so a refused request
//! consumes nothing. A key known to be used up until `T` is refused locally
//! until `T` without asking the store (the fast path). The outcome becomes
//! the `RateLimit-Policy` / `RateLimit` headers of the answer, whatever it is.

use super::compile::{KeySource, Measure, Plans, Policy};
use super::state::RateLimitState;
use crate::client_ip::ClientIp;
use crate::config::{Consistency, OnStoreError};
use crate::error::GatewayError;
use crate::identity::Identity;
use crate::limit::headers::{PolicyItem, StateItem, policy_header, state_header, whole_seconds};
use crate::limit::{Decision, Limit, window};
use crate::platform::{Clock, LimiterStore, Platform, StoreError, StoreErrorKind, Timestamp};
use crate::request::RequestCtx;
use futures_util::future::{Either, join_all, select};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a limiter store may take before it counts as unreachable.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(1);
/// `Retry-After` on a 503 for an unreachable store.
const STORE_DOWN_RETRY_AFTER: u64 = 1;
/// Key values longer than this are hashed (store key limits, memory).
const MAX_KEY_VALUE: usize = 96;

/// One policy as it applies to this request.
pub(super) struct Applying<'a> {
    pub policy: &'a Policy,
    pub key: String,
    pub limit: Limit,
    pub quota: u64,
    pub window_secs: u64,
}

fn key_part(prefix: &str, raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) if text.len() <= MAX_KEY_VALUE && !text.chars().any(char::is_control) => format!("{prefix}:{text}"),
        _ => {
            let digest = Sha256::digest(raw);
            format!("{prefix}#{}", hex::encode(&digest[..16]))
        }
    }
}

/// A `header:NAME` key value: the header's value without surrounding
/// whitespace and with ASCII letters folded to lower case, so that `Acme`,
/// ` acme ` and `ACME` share one counter (then hashed past 96 bytes, as any
/// key value). `None` when nothing is left: counted like an absent header.
fn header_part(raw: &[u8]) -> Option<String> {
    let value = raw.trim_ascii();
    (!value.is_empty()).then(|| key_part("header", &value.to_ascii_lowercase()))
}

/// `ip:1.2.3.4`, `ip:2001:db8::/64`, or `ip:unknown` — requests without a
/// trusted address share that one key, limited like any other.
fn ip_part(ip: ClientIp, v6_prefix: u8) -> String {
    format!("ip:{}", ip.limit_identity(v6_prefix))
}

fn key_value(
    source: &KeySource,
    identity: Option<&Identity>,
    headers: &HeaderMap,
    ip: ClientIp,
    v6_prefix: u8,
) -> String {
    match source {
        KeySource::Consumer => identity
            .and_then(|i| i.consumer.as_deref())
            .map_or_else(|| ip_part(ip, v6_prefix), |c| key_part("consumer", c.as_bytes())),
        KeySource::Ip => ip_part(ip, v6_prefix),
        KeySource::Route => "all".to_owned(),
        KeySource::Header(name) => {
            headers.get(name).and_then(|v| header_part(v.as_bytes())).unwrap_or_else(|| ip_part(ip, v6_prefix))
        }
        KeySource::Claim(claim) => identity
            .and_then(|i| i.claim_str(claim))
            .map_or_else(|| ip_part(ip, v6_prefix), |v| key_part("claim", v.as_bytes())),
    }
}

fn window_count(per: Duration, now: Timestamp) -> (Timestamp, Timestamp) {
    let per_us = u64::try_from(per.as_micros()).unwrap_or(u64::MAX).max(1);
    let start = Timestamp(now.0 - now.0 % per_us);
    (start, start.plus(per))
}

pub(super) fn applying<'a>(
    policy: &'a Policy,
    identity: Option<&Identity>,
    caller: (&HeaderMap, ClientIp, u8),
    now: Timestamp,
) -> Applying<'a> {
    let (headers, ip, v6_prefix) = caller;
    let value = key_value(&policy.key, identity, headers, ip, v6_prefix);
    match policy.measure {
        Measure::Rate(rate) if policy.consistency == Consistency::Approximate => {
            let (start, end) = window_count(rate.period, now);
            Applying {
                policy,
                key: format!("rl:{}:{value}@{}", policy.prefix, start.as_millis()),
                limit: Limit::Count { limit: rate.limit, window_end: end },
                quota: rate.limit,
                window_secs: whole_seconds(rate.period),
            }
        }
        Measure::Rate(rate) => Applying {
            policy,
            key: format!("rl:{}:{value}", policy.prefix),
            limit: Limit::rate(rate),
            quota: rate.limit,
            window_secs: whole_seconds(rate.period),
        },
        Measure::Quota { requests, per } => {
            let (start, end) = window::window_of(now, per);
            Applying {
                policy,
                key: format!("rl:{}:{value}@{}", policy.prefix, start.as_secs()),
                limit: Limit::Count { limit: requests, window_end: end },
                quota: requests,
                window_secs: end.since(start).as_secs(),
            }
        }
    }
}

async fn acquire_within<P: Platform>(
    platform: &P,
    state: &RateLimitState,
    a: &Applying<'_>,
    now: Timestamp,
) -> Result<Decision, StoreError> {
    if a.policy.consistency == Consistency::Approximate {
        return Ok(state.acquire_approximate(platform, &a.key, &a.limit, now).await);
    }
    let call = pin!(platform.limiter().acquire(&a.key, &a.limit, 1, now));
    let deadline = pin!(platform.clock().sleep(STORE_TIMEOUT));
    match select(call, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            Err(StoreError::new(StoreErrorKind::Timeout, format!("no answer within {} ms", STORE_TIMEOUT.as_millis())))
        }
    }
}

/// Checks every policy that applies (the route's `route_policy`, the
/// consumer's plan); `Ok` when the request may go on. The headers to put on
/// the answer are left in `ctx.limit_headers` either way.
pub(crate) async fn enforce<P: Platform>(
    plans: &Plans,
    limiter: &RateLimitState,
    platform: &P,
    route_policy: Option<&Policy>,
    ctx: &mut RequestCtx<'_>,
) -> Result<(), GatewayError> {
    let (identity, headers, ip, v6_prefix) = (ctx.identity.as_ref(), ctx.headers, ctx.client_ip, ctx.v6_prefix);
    let request_id = ctx.request_id.as_str();
    let out = &mut ctx.limit_headers;
    let now = platform.clock().now();
    let mut policies: Vec<&Policy> = route_policy.into_iter().collect();
    if let Some(identity) = identity {
        let plan = identity.plan.as_ref().or_else(|| identity.consumer.as_ref().and_then(|c| plans.of_consumer.get(c)));
        if let Some(plan) = plan {
            match plans.by_name.get(plan) {
                Some(p) => policies.extend(p.rate.iter().chain(p.quota.iter())),
                None => tracing::warn!(request_id, plan = %plan, "consumer names an unknown plan; no plan limits"),
            }
        }
    }
    if policies.is_empty() {
        return Ok(());
    }
    let all: Vec<Applying<'_>> =
        policies.into_iter().map(|p| applying(p, identity, (headers, ip, v6_prefix), now)).collect();
    out.policy = match all.as_slice() {
        [one] if one.policy.alone_header.is_some() => one.policy.alone_header.clone(),
        _ => {
            let items: Vec<PolicyItem<'_>> = all
                .iter()
                .map(|a| PolicyItem { name: a.policy.name, quota: a.quota, window_secs: a.window_secs })
                .collect();
            policy_header(&items)
        }
    };

    // Fast path: a key known to be used up is refused without a store call.
    let blocked: Vec<(usize, Duration)> = all
        .iter()
        .enumerate()
        .filter_map(|(i, a)| limiter.blocked_until(&a.key, now).map(|t| (i, t.since(now))))
        .collect();
    if !blocked.is_empty() {
        let state: Vec<StateItem<'_>> = blocked
            .iter()
            .filter_map(|(i, wait)| {
                all.get(*i).map(|a| StateItem { name: a.policy.name, remaining: 0, reset_secs: whole_seconds(*wait) })
            })
            .collect();
        out.state = state_header(&state);
        let retry_after = blocked.iter().map(|(_, w)| whole_seconds(*w)).max().unwrap_or(1).max(1);
        return Err(GatewayError::RateLimited { retry_after });
    }

    let results = match all.as_slice() {
        // One policy (the common case): no join machinery.
        [one] => vec![acquire_within(platform, limiter, one, now).await],
        _ => join_all(all.iter().map(|a| acquire_within(platform, limiter, a, now))).await,
    };
    let mut state = Vec::with_capacity(all.len());
    let mut denied_wait: Option<u64> = None;
    let mut store_down = false;
    for (a, result) in all.iter().zip(&results) {
        match result {
            Ok(d) => {
                let reset_secs = whole_seconds(d.reset_for_header());
                state.push(StateItem { name: a.policy.name, remaining: d.remaining, reset_secs });
                if !d.admitted {
                    let wait = whole_seconds(d.wait).max(1);
                    denied_wait = Some(denied_wait.map_or(wait, |w| w.max(wait)));
                    if !d.wait.is_zero() {
                        limiter.block(&a.key, now.plus(d.wait), now);
                    }
                }
            }
            Err(e) => match a.policy.on_store_error {
                OnStoreError::Closed => {
                    tracing::error!(request_id, policy = a.policy.name, key = %a.key, error = %e, "limiter store unavailable; refusing (on_store_error: closed)");
                    store_down = true;
                }
                OnStoreError::Open => {
                    limiter.open_admits.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(request_id, policy = a.policy.name, key = %a.key, error = %e, "limiter store unavailable; admitting (on_store_error: open)");
                }
            },
        }
    }
    out.state = state_header(&state);
    let refused = if store_down {
        Some(GatewayError::LimiterUnavailable { retry_after: STORE_DOWN_RETRY_AFTER })
    } else {
        denied_wait.map(|retry_after| GatewayError::RateLimited { retry_after })
    };
    let Some(refusal) = refused else { return Ok(()) };
    // Give back what the admitting policies took: a refused request consumes nothing.
    let refunds = all
        .iter()
        .zip(&results)
        .filter(|(a, r)| a.policy.consistency == Consistency::Exact && matches!(r, Ok(d) if d.admitted))
        .map(|(a, _)| async move { (a, platform.limiter().release(&a.key, &a.limit, 1, now).await) });
    for (a, result) in join_all(refunds).await {
        if let Err(e) = result {
            tracing::warn!(request_id, key = %a.key, error = %e, "could not give back a rate-limit unit");
        }
    }
    Err(refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_are_bounded_and_never_control_characters() {
        assert_eq!(key_part("header", b"abc"), "header:abc");
        let long = key_part("header", &[b'a'; 200]);
        assert!(long.starts_with("header#") && long.len() == "header#".len() + 32, "{long}");
        assert!(key_part("header", b"a\x01b").starts_with("header#"));
        assert!(key_part("header", &[0xff, 0xfe]).starts_with("header#"));
        assert_ne!(key_part("header", &[b'a'; 200]), key_part("header", &[b'b'; 200]));
    }
}
