//! The failed-authentication limit: at most `per_ip` failed credentials are
//! *evaluated* per window of `per` from one client identity (an IPv4
//! address, an IPv6 prefix, or the one shared `unknown` identity of requests
//! without a trusted address); past that, 429 on authenticated routes until
//! the window ends.
//!
//! Every presented credential reserves one unit of the identity's window in
//! the limiter store *before* it is verified; a credential that verifies
//! gives its unit back. So a concurrent burst — many requests in one Workers
//! isolate, one Lambda container per concurrent request — cannot get more
//! than `per_ip` guesses evaluated, whatever the runtime: the store decides
//! each reservation atomically. A credential this instance verified recently
//! skips the reservation (a bounded memory of digests of good credentials),
//! so clients that reuse a token or key cost no store round trip.
//!
//! An instance that sees the window used up blocks the identity in its
//! "blocked until" memory for the rest of the window (no store call).

use crate::client_ip::ClientIp;
use crate::error::GatewayError;
use crate::limit::Limit;
use crate::platform::hash::RandomKeys;
use crate::platform::memory::bounded::ExpiryMap;
use crate::platform::{LimiterStore, Platform, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long a verified credential skips the reservation.
const KNOWN_GOOD_FOR: Duration = Duration::from_secs(60);
/// Credentials remembered as good, per instance.
const KNOWN_GOOD_MAX: usize = 4096;

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

/// One evaluation of presented credentials, between `reserve` and `settle`.
#[derive(Debug)]
pub(crate) struct Attempt {
    key: String,
    limit: Limit,
    end: Timestamp,
    /// Whether a unit was taken in the store (and must be given back on success).
    reserved: bool,
    /// Units left in the window after the reservation.
    remaining: u64,
    digest: [u8; 32],
}

/// Digests of credentials that verified here recently, with when they stop counting as good.
/// Identities this process refuses until their window ends. This block is
/// the refusal itself (only this process enforces it), so it has a map of
/// its own that no flood of rate-limit keys can evict from.
const MAX_BLOCKS: usize = 50_000;

/// The failed-authentication limit's memory in one process / isolate.
#[derive(Debug)]
pub(crate) struct FailureState {
    blocked: Mutex<ExpiryMap<()>>,
    /// Credentials that verified here recently (their reservation is skipped).
    known_good: KnownGood,
}

impl Default for FailureState {
    fn default() -> Self {
        FailureState { blocked: Mutex::new(ExpiryMap::new(MAX_BLOCKS)), known_good: KnownGood::default() }
    }
}

impl FailureState {
    fn blocks(&self) -> std::sync::MutexGuard<'_, ExpiryMap<()>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn blocked_until(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        self.blocks().expiry(key, now)
    }

    fn block(&self, key: &str, until: Timestamp, now: Timestamp) {
        self.blocks().insert(key, (), until, 0, now);
    }

    /// How many identities are blocked here.
    #[cfg(test)]
    fn blocked_len(&self) -> usize {
        self.blocks().len()
    }
}

#[derive(Debug, Default)]
pub(crate) struct KnownGood(Mutex<HashMap<[u8; 32], Timestamp, RandomKeys>>);

impl KnownGood {
    fn contains(&self, digest: &[u8; 32], now: Timestamp) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(digest).is_some_and(|until| *until > now)
    }

    fn forget(&self, digest: &[u8; 32]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(digest);
    }

    fn insert(&self, digest: [u8; 32], now: Timestamp) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= KNOWN_GOOD_MAX && !map.contains_key(&digest) {
            map.retain(|_, until| *until > now);
            // Still full of live entries: forget one. Forgetting only costs a
            // store round trip the next time that credential comes.
            if map.len() >= KNOWN_GOOD_MAX
                && let Some(k) = map.keys().next().copied()
            {
                map.remove(&k);
            }
        }
        map.insert(digest, now.plus(KNOWN_GOOD_FOR));
    }
}

/// A digest of every credential a request presents to a route's schemes.
pub(crate) fn credentials_digest(credentials: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for c in credentials {
        h.update((c.len() as u64).to_le_bytes());
        h.update(c.as_bytes());
    }
    h.finalize().into()
}

impl FailureLimit {
    /// The window containing `now`: its key for `who`, its end, and the
    /// whole seconds until then.
    fn window(&self, who: &str, now: Timestamp) -> (String, Timestamp, u64) {
        let per = u64::try_from(self.per.as_micros()).unwrap_or(u64::MAX).max(1);
        let start = Timestamp(now.0 - now.0 % per);
        let end = start.plus(self.per);
        (format!("authfail:{who}:{}", start.0), end, end.0.saturating_sub(now.0).div_ceil(1_000_000).max(1))
    }

    /// 429 when `ip` used up its window (as far as this instance has seen).
    /// No store call. Requests without a trusted address share `unknown`.
    pub(crate) fn check(
        &self,
        state: &FailureState,
        ip: ClientIp,
        v6_prefix: u8,
        now: Timestamp,
    ) -> Result<(), GatewayError> {
        let (key, _, retry_after) = self.window(&ip.limit_identity(v6_prefix), now);
        match state.blocked_until(&key, now) {
            Some(_) => Err(GatewayError::TooManyAuthFailures { retry_after }),
            None => Ok(()),
        }
    }

    /// Before verifying the credentials `digest` stands for: takes one unit
    /// of the identity's window (429 when none is left), unless they verified
    /// here recently. A store that cannot be reached does not lock everyone
    /// out: the attempt goes on unreserved, and the log says so.
    pub(crate) async fn reserve<P: Platform>(
        &self,
        platform: &P,
        state: &FailureState,
        ip: ClientIp,
        v6_prefix: u8,
        digest: [u8; 32],
        now: Timestamp,
    ) -> Result<Attempt, GatewayError> {
        let (key, end, retry_after) = self.window(&ip.limit_identity(v6_prefix), now);
        if state.blocked_until(&key, now).is_some() {
            return Err(GatewayError::TooManyAuthFailures { retry_after });
        }
        let limit = Limit::Count { limit: self.per_ip, window_end: end };
        let mut attempt = Attempt { key, limit, end, reserved: false, remaining: u64::MAX, digest };
        if state.known_good.contains(&digest, now) {
            return Ok(attempt);
        }
        match platform.limiter().acquire(&attempt.key, &limit, 1, now).await {
            Ok(d) if d.admitted => {
                attempt.reserved = true;
                attempt.remaining = d.remaining;
                Ok(attempt)
            }
            Ok(_) => {
                state.block(&attempt.key, end, now);
                Err(GatewayError::TooManyAuthFailures { retry_after })
            }
            Err(e) => {
                tracing::warn!(error = %e, key = %attempt.key, "auth failure counter unavailable; credential checked unreserved");
                Ok(attempt)
            }
        }
    }

    /// After verifying: a good credential gives its unit back (and skips the
    /// reservation for a while); a failed one keeps it, and the window's last
    /// unit blocks the identity here until the window ends.
    pub(crate) async fn settle<P: Platform>(
        &self,
        platform: &P,
        state: &FailureState,
        attempt: Attempt,
        verified: bool,
        now: Timestamp,
    ) {
        if verified {
            state.known_good.insert(attempt.digest, now);
            if attempt.reserved
                && let Err(e) = platform.limiter().release(&attempt.key, &attempt.limit, 1, now).await
            {
                tracing::warn!(error = %e, key = %attempt.key, "could not give back an auth-failure unit");
            }
        } else {
            state.known_good.forget(&attempt.digest);
            if attempt.reserved && attempt.remaining == 0 {
                state.block(&attempt.key, attempt.end, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_identities_expire_and_stay_bounded() {
        let state = FailureState::default();
        state.block("authfail:a", Timestamp(10), Timestamp(0));
        assert_eq!(state.blocked_until("authfail:a", Timestamp(5)), Some(Timestamp(10)));
        assert_eq!(state.blocked_until("authfail:a", Timestamp(10)), None);
        for i in 0..(MAX_BLOCKS + 5) {
            state.block(&format!("authfail:{i}"), Timestamp(100), Timestamp(0));
        }
        assert_eq!(state.blocked_len(), MAX_BLOCKS);
    }
}
