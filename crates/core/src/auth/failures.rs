//! The failed-authentication limit: more than `per_ip` failures in a window
//! of `per` from one client IP, and that IP gets 429 on authenticated routes
//! until the window ends. Failures are counted through the limiter port as a
//! [`Limit::Count`] per IP and window, so the count is shared where the
//! limiter store is (memory, Durable Objects, DynamoDB). The check itself is
//! local: an instance that counts a failure past the limit blocks that IP in
//! its "blocked until" memory for the rest of the window, so requests with
//! good credentials cost no store round trip. Another instance blocks the IP
//! at its first failure there (the shared count is already past the limit).

use crate::error::GatewayError;
use crate::limit::Limit;
use crate::pipeline::limit::LimiterState;
use crate::platform::{LimiterStore, Platform, Timestamp};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub(crate) struct FailureLimit {
    pub per_ip: u64,
    pub per: Duration,
}

impl Default for FailureLimit {
    fn default() -> Self {
        FailureLimit { per_ip: 20, per: Duration::from_secs(60) }
    }
}

impl FailureLimit {
    /// The window containing `now`: its key for `ip`, its end, and the
    /// whole seconds until then.
    fn window(&self, ip: IpAddr, now: Timestamp) -> (String, Timestamp, u64) {
        let per = u64::try_from(self.per.as_micros()).unwrap_or(u64::MAX).max(1);
        let start = Timestamp(now.0 - now.0 % per);
        let end = start.plus(self.per);
        (format!("authfail:{ip}:{}", start.0), end, end.0.saturating_sub(now.0).div_ceil(1_000_000).max(1))
    }

    /// 429 when `ip` failed more than the limit in this window (as far as
    /// this instance has seen). No store call.
    pub(crate) fn check(&self, blocked: &LimiterState, ip: Option<IpAddr>, now: Timestamp) -> Result<(), GatewayError> {
        let Some(ip) = ip else { return Ok(()) };
        let (key, _, retry_after) = self.window(ip, now);
        match blocked.blocked_until(&key, now) {
            Some(_) => Err(GatewayError::TooManyAuthFailures { retry_after }),
            None => Ok(()),
        }
    }

    /// Counts one failure for `ip`; past the limit, blocks it here until the
    /// window ends.
    pub(crate) async fn record<P: Platform>(
        &self,
        platform: &P,
        blocked: &LimiterState,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) {
        let Some(ip) = ip else { return };
        let (key, end, _) = self.window(ip, now);
        let limit = Limit::Count { limit: u64::MAX, window_end: end };
        match platform.limiter().acquire(&key, &limit, 1, now).await {
            Ok(d) => {
                let count = u64::MAX - d.remaining;
                if count > self.per_ip {
                    blocked.block(&key, end, now);
                }
            }
            // The limit protects against guessing; a store outage must not lock everyone out.
            Err(e) => tracing::warn!(error = %e, "auth failure counter unavailable"),
        }
    }
}
