//! The rate-limit stage: every policy that applies to a request (the route's
//! `rate_limit`, the consumer's plan rate and quota) is checked through the
//! limiter port, all at once. The request passes only if all admit; when one
//! refuses, the units the others took are given back, so a refused request
//! consumes nothing. A key known to be used up until `T` is refused locally
//! until `T` without asking the store (the fast path). The outcome becomes
//! the `RateLimit-Policy` / `RateLimit` headers of the answer, whatever it is.

use crate::Gateway;
use crate::auth::Identity;
use crate::client_ip::ClientIp;
use crate::compile::limit::{KeySource, Measure, Policy};
use crate::compile::route::Route;
use crate::config::{Consistency, OnStoreError};
use crate::error::GatewayError;
use crate::limit::headers::{PolicyItem, StateItem, policy_header, state_header, whole_seconds};
use crate::limit::{Decision, Limit, window};
use crate::platform::memory::bounded::ExpiryMap;
use crate::platform::{Clock, LimiterStore, Platform, StoreError, Timestamp};
use futures_util::future::{Either, join_all, select};
use http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a limiter store may take before it counts as unreachable.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(1);
/// `Retry-After` on a 503 for an unreachable store.
const STORE_DOWN_RETRY_AFTER: u64 = 1;
/// Rate-limit keys whose "blocked until" this process remembers (the fast
/// path: one that is dropped costs a store call, never a wrong answer).
const MAX_FAST_BLOCKS: usize = 20_000;
/// Other blocks (the failed-authentication limit), which only this process
/// enforces: kept apart so that no flood of rate-limit keys evicts them.
const MAX_ENFORCED_BLOCKS: usize = 50_000;
/// Key values longer than this are hashed (store key limits, memory).
const MAX_KEY_VALUE: usize = 96;

/// Limiter state of one process / isolate.
#[derive(Debug, Default)]
pub(crate) struct LimiterState {
    blocked: Mutex<Blocked>,
    /// Local views of `consistency: approximate` keys.
    approx: Mutex<super::approx::ApproxEntries>,
    /// Requests admitted without a decision because a store failed under
    /// `on_store_error: open`.
    pub open_admits: AtomicU64,
    /// Credentials that verified here recently (the failed-authentication
    /// limit skips their reservation).
    pub(crate) known_good: crate::auth::failures::KnownGood,
}

/// The keys this process refuses until a time, in two bounded maps. Each
/// evicts the block that ends first (an ended one before any other); a
/// rate-limit block (`rl:` keys, built by [`applying`]) only saves a store
/// call, while any other block (`authfail:`) is the refusal itself, so the
/// two never compete for room.
#[derive(Debug)]
struct Blocked {
    fast: ExpiryMap<()>,
    enforced: ExpiryMap<()>,
}

impl Default for Blocked {
    fn default() -> Self {
        Blocked { fast: ExpiryMap::new(MAX_FAST_BLOCKS), enforced: ExpiryMap::new(MAX_ENFORCED_BLOCKS) }
    }
}

impl Blocked {
    fn map_for(&mut self, key: &str) -> &mut ExpiryMap<()> {
        if key.starts_with("rl:") { &mut self.fast } else { &mut self.enforced }
    }
}

impl LimiterState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Blocked> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn approx_lock(&self) -> std::sync::MutexGuard<'_, super::approx::ApproxEntries> {
        self.approx.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn blocked_until(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        self.lock().map_for(key).expiry(key, now)
    }

    pub(crate) fn block(&self, key: &str, until: Timestamp, now: Timestamp) {
        self.lock().map_for(key).insert(key, (), until, 0, now);
    }

    /// How many blocks this process holds (fast path, enforced).
    #[cfg(test)]
    fn blocked_len(&self) -> (usize, usize) {
        let b = self.lock();
        (b.fast.len(), b.enforced.len())
    }
}

/// The `RateLimit-Policy` and `RateLimit` values for an answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimitHeaders {
    pub policy: Option<HeaderValue>,
    pub state: Option<HeaderValue>,
}

/// Who is asking: what policy keys are made of.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub identity: Option<&'a Identity>,
    pub headers: &'a HeaderMap,
    pub ip: ClientIp,
    /// IPv6 clients are keyed by this prefix.
    pub v6_prefix: u8,
}

/// One policy as it applies to this request.
struct Applying<'a> {
    policy: &'a Policy,
    key: String,
    limit: Limit,
    quota: u64,
    window_secs: u64,
}

fn key_part(prefix: &str, raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(text) if text.len() <= MAX_KEY_VALUE && !text.chars().any(char::is_control) => format!("{prefix}:{text}"),
        _ => {
            let digest = Sha256::digest(raw);
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("{prefix}#{hex}")
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

fn applying<'a>(
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
    state: &LimiterState,
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
        Either::Right(((), _)) => Err(StoreError(format!("no answer within {} ms", STORE_TIMEOUT.as_millis()))),
    }
}

/// What is left of a consumer's plan limits right now (for the admin usage
/// endpoint): read with a zero-cost probe through the limiter port, which
/// consumes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanUsage {
    /// `plan` or `quota`.
    pub policy: &'static str,
    pub plan: String,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until every unit is back (the end of the quota's window).
    pub reset_secs: u64,
}

impl Gateway {
    /// The plan limits of `consumer` (a config consumer, or one issued at run
    /// time on `plan`) and what is left of them, exact where the store is.
    pub async fn plan_usage<P: Platform>(
        &self,
        platform: &P,
        consumer: &str,
        plan: Option<&str>,
    ) -> Result<Vec<PlanUsage>, StoreError> {
        let Some(plan) = plan.or_else(|| self.plans.of_consumer.get(consumer).map(String::as_str)) else {
            return Ok(Vec::new());
        };
        let Some(policies) = self.plans.by_name.get(plan) else { return Ok(Vec::new()) };
        let identity = Identity { consumer: Some(consumer.to_owned()), ..Identity::default() };
        let now = platform.clock().now();
        let mut out = Vec::new();
        for policy in policies.rate.iter().chain(policies.quota.iter()) {
            let unknown = ClientIp::Unknown(crate::client_ip::Unknown::NoPeer);
            let a = applying(policy, Some(&identity), (&HeaderMap::new(), unknown, self.ipv6_key_prefix), now);
            let d = if policy.consistency == Consistency::Approximate {
                let local = self.limiter.approx_lock().get(&a.key).map(|e| e.seen());
                crate::limit::apply(&a.limit, local, 0, now).decision
            } else {
                platform.limiter().acquire(&a.key, &a.limit, 0, now).await?
            };
            out.push(PlanUsage {
                policy: policy.name,
                plan: plan.to_owned(),
                limit: a.quota,
                remaining: d.remaining,
                reset_secs: whole_seconds(d.reset_after),
            });
        }
        Ok(out)
    }

    /// Checks every policy that applies; `Ok` when the request may go on. The
    /// headers to put on the answer are left in `out` either way.
    pub(crate) async fn enforce_limits<P: Platform>(
        &self,
        platform: &P,
        route: &Route,
        caller: Caller<'_>,
        request_id: &str,
        out: &mut LimitHeaders,
    ) -> Result<(), GatewayError> {
        let Caller { identity, headers, ip, v6_prefix } = caller;
        let now = platform.clock().now();
        let mut policies: Vec<&Policy> = route.rate_limit.iter().collect();
        if let Some(identity) = identity {
            let plan = identity
                .plan
                .as_ref()
                .or_else(|| identity.consumer.as_ref().and_then(|c| self.plans.of_consumer.get(c)));
            if let Some(plan) = plan {
                match self.plans.by_name.get(plan) {
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
            .filter_map(|(i, a)| self.limiter.blocked_until(&a.key, now).map(|t| (i, t.since(now))))
            .collect();
        if !blocked.is_empty() {
            let state: Vec<StateItem<'_>> = blocked
                .iter()
                .filter_map(|(i, wait)| {
                    all.get(*i).map(|a| StateItem {
                        name: a.policy.name,
                        remaining: 0,
                        reset_secs: whole_seconds(*wait),
                    })
                })
                .collect();
            out.state = state_header(&state);
            let retry_after = blocked.iter().map(|(_, w)| whole_seconds(*w)).max().unwrap_or(1).max(1);
            return Err(GatewayError::RateLimited { retry_after });
        }

        let results = match all.as_slice() {
            // One policy (the common case): no join machinery.
            [one] => vec![acquire_within(platform, &self.limiter, one, now).await],
            _ => join_all(all.iter().map(|a| acquire_within(platform, &self.limiter, a, now))).await,
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
                            self.limiter.block(&a.key, now.plus(d.wait), now);
                        }
                    }
                }
                Err(e) => match a.policy.on_store_error {
                    OnStoreError::Closed => {
                        tracing::error!(request_id, policy = a.policy.name, key = %a.key, error = %e, "limiter store unavailable; refusing (on_store_error: closed)");
                        store_down = true;
                    }
                    OnStoreError::Open => {
                        self.limiter.open_admits.fetch_add(1, Ordering::Relaxed);
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

    #[test]
    fn blocked_keys_expire_and_stay_bounded() {
        let state = LimiterState::default();
        state.block("k", Timestamp(10), Timestamp(0));
        assert_eq!(state.blocked_until("k", Timestamp(5)), Some(Timestamp(10)));
        assert_eq!(state.blocked_until("k", Timestamp(10)), None);
        for i in 0..(MAX_ENFORCED_BLOCKS + 5) {
            state.block(&format!("k{i}"), Timestamp(100), Timestamp(0));
        }
        for i in 0..(MAX_FAST_BLOCKS + 5) {
            state.block(&format!("rl:k{i}"), Timestamp(100), Timestamp(0));
        }
        assert_eq!(state.blocked_len(), (MAX_FAST_BLOCKS, MAX_ENFORCED_BLOCKS));
    }
}
