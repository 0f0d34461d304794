//! The failed-authentication limit: more than `per_ip` failures in a window
//! of `per` from one client IP, and that IP gets 429 on authenticated routes
//! until the window ends. Counted through the counter port, so it is shared
//! where the counter store is (memory, Durable Objects, DynamoDB).

use crate::error::GatewayError;
use crate::platform::{CounterStore, Platform, Timestamp};
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
    fn window(&self, now: Timestamp) -> (Timestamp, u64) {
        let per = u64::try_from(self.per.as_micros()).unwrap_or(u64::MAX).max(1);
        let end = Timestamp(now.0 - now.0 % per).plus(self.per);
        (end, end.0.saturating_sub(now.0).div_ceil(1_000_000).max(1))
    }

    fn key(ip: IpAddr) -> String {
        format!("authfail:{ip}")
    }

    /// 429 when `ip` already failed more than the limit in this window.
    pub(crate) async fn check<P: Platform>(
        &self,
        platform: &P,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), GatewayError> {
        let Some(ip) = ip else { return Ok(()) };
        let (end, retry_after) = self.window(now);
        match platform.counters().increment(&Self::key(ip), 0, u64::MAX, end, now).await {
            Ok(outcome) if outcome.count > self.per_ip => Err(GatewayError::TooManyAuthFailures { retry_after }),
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
        let (end, _) = self.window(now);
        if let Err(e) = platform.counters().increment(&Self::key(ip), 1, u64::MAX, end, now).await {
            tracing::warn!(error = %e, "auth failure counter unavailable");
        }
    }
}
