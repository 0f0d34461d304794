//! The failed-authentication limit: more than `per_ip` failures in a window
//! of `per` from one client IP, and that IP gets 429 on authenticated routes
//! until the window ends. Counted through the limiter port as a
//! [`Limit::Count`] per IP and window, so it is shared where the limiter
//! store is (memory, Durable Objects, DynamoDB).

use crate::error::GatewayError;
use crate::limit::Limit;
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

    /// 429 when `ip` already failed more than the limit in this window.
    pub(crate) async fn check<P: Platform>(
        &self,
        platform: &P,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), GatewayError> {
        let Some(ip) = ip else { return Ok(()) };
        let (key, end, retry_after) = self.window(ip, now);
        // A probe (cost 0) against the limit: refused once the count is past it.
        let limit = Limit::Count { limit: self.per_ip, window_end: end };
        match platform.limiter().acquire(&key, &limit, 0, now).await {
            Ok(d) if !d.admitted => Err(GatewayError::TooManyAuthFailures { retry_after }),
            Ok(_) => Ok(()),
            Err(e) => {
                // The limit protects against guessing; a store outage must not lock everyone out.
                tracing::warn!(error = %e, "auth failure counter unavailable");
                Ok(())
            }
        }
    }

    /// Counts one failure for `ip`.
    pub(crate) async fn record<P: Platform>(&self, platform: &P, ip: Option<IpAddr>, now: Timestamp) {
        let Some(ip) = ip else { return };
        let (key, end, _) = self.window(ip, now);
        let limit = Limit::Count { limit: u64::MAX, window_end: end };
        if let Err(e) = platform.limiter().acquire(&key, &limit, 1, now).await {
            tracing::warn!(error = %e, "auth failure counter unavailable");
        }
    }
}
