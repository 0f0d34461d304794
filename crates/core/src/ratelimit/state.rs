//! The rate limits' memory in one process / isolate: the "blocked until"
//! fast path, the local views of `consistency: approximate` keys, and the
//! count of requests admitted because a store failed open.

use super::approx::ApproxEntries;
use crate::platform::memory::bounded::ExpiryMap;
use crate::time::Timestamp;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};

/// Rate-limit keys whose "blocked until" this process remembers (the fast
/// path: one that is dropped costs a store call, never a wrong answer). The
/// map evicts the block that ends first (an ended one before any other).
const MAX_FAST_BLOCKS: usize = 20_000;

/// Rate-limit state of one process / isolate.
#[derive(Debug)]
pub(crate) struct RateLimitState {
    blocked: Mutex<ExpiryMap<()>>,
    /// Local views of `consistency: approximate` keys.
    approx: Mutex<ApproxEntries>,
    /// Requests admitted without a decision because a store failed under
    /// `on_store_error: open`.
    pub open_admits: AtomicU64,
}

impl Default for RateLimitState {
    fn default() -> Self {
        RateLimitState {
            blocked: Mutex::new(ExpiryMap::new(MAX_FAST_BLOCKS)),
            approx: Mutex::default(),
            open_admits: AtomicU64::new(0),
        }
    }
}

impl RateLimitState {
    fn blocks(&self) -> MutexGuard<'_, ExpiryMap<()>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn approx_lock(&self) -> MutexGuard<'_, ApproxEntries> {
        self.approx.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn blocked_until(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        self.blocks().expiry(key, now)
    }

    pub(super) fn block(&self, key: &str, until: Timestamp, now: Timestamp) {
        self.blocks().insert(key, (), until, 0, now);
    }

    /// How many keys are blocked here.
    #[cfg(test)]
    pub(super) fn blocked_len(&self) -> usize {
        self.blocks().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_keys_expire_and_stay_bounded() {
        let state = RateLimitState::default();
        state.block("k", Timestamp(10), Timestamp(0));
        assert_eq!(state.blocked_until("k", Timestamp(5)), Some(Timestamp(10)));
        assert_eq!(state.blocked_until("k", Timestamp(10)), None);
        for i in 0..(MAX_FAST_BLOCKS + 5) {
            state.block(&format!("rl:k{i}"), Timestamp(100), Timestamp(0));
        }
        assert_eq!(state.blocked_len(), MAX_FAST_BLOCKS);
    }
}
