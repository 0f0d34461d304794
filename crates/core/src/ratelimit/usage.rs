//! What is left of a consumer's plan limits (the admin usage endpoint):
//! read with zero-cost probes through the limiter port, which consume nothing.

use super::compile::Plans;
use super::stage::applying;
use super::state::RateLimitState;
use crate::client_ip::{ClientIp, Unknown};
use crate::config::Consistency;
use crate::identity::Identity;
use crate::limit::headers::whole_seconds;
use crate::platform::{Clock, LimiterStore, Platform, StoreError};
use http::HeaderMap;

/// What is left of a consumer's plan limits right now (for the admin usage
/// endpoint): read with a zero-cost probe through the limiter port, which
/// consumes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanUsage {
    /// `plan` or `quota`.
    pub policy: &'static str,
    /// The plan's name.
    pub plan: String,
    /// Requests the policy admits per window (its `requests`).
    pub limit: u64,
    /// Requests left now (for an `approximate` plan rate: as this instance counts them).
    pub remaining: u64,
    /// Seconds until every unit is back (the end of the quota's window).
    pub reset_secs: u64,
}

/// The plan limits of `consumer` (a config consumer, or one issued at run
/// time on `plan`) and what is left of them, exact where the store is.
pub(crate) async fn plan_usage<P: Platform>(
    plans: &Plans,
    limiter: &RateLimitState,
    v6_prefix: u8,
    platform: &P,
    consumer: &str,
    plan: Option<&str>,
) -> Result<Vec<PlanUsage>, StoreError> {
    let Some(plan) = plan.or_else(|| plans.of_consumer.get(consumer).map(String::as_str)) else {
        return Ok(Vec::new());
    };
    let Some(policies) = plans.by_name.get(plan) else { return Ok(Vec::new()) };
    let identity = Identity { consumer: Some(consumer.to_owned()), ..Identity::default() };
    let now = platform.clock().now();
    let mut out = Vec::new();
    for policy in policies.rate.iter().chain(policies.quota.iter()) {
        let unknown = ClientIp::Unknown(Unknown::NoPeer);
        let a = applying(policy, Some(&identity), (&HeaderMap::new(), unknown, v6_prefix), now);
        let d = if policy.consistency == Consistency::Approximate {
            let local = limiter.approx_lock().get(&a.key).map(|e| e.seen());
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
