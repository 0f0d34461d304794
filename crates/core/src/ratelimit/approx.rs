//! `consistency: approximate` limits: counted in this process / isolate and
//! synced through the key-value port (Workers KV, DynamoDB items, memory) at
//! most once a second per key, instead of one exact store call per request.
//!
//! Rates are fixed windows of `per` here (a shared theoretical arrival time
//! cannot be kept in an eventually consistent store). Each instance admits
//! while `total seen at its last sync + what it admitted since` stays within
//! the limit. A sync reads the shared total, adds this instance's unsynced
//! count and writes it back. The error bound: each instance can over-admit
//! what it admits between two syncs (≤ 1 s of its traffic on that key), and
//! two instances syncing the same key at once lose one of the two additions
//! (KV has no atomic add; it is also eventually consistent, up to ~60 s
//! between locations, and takes about one write per second per key).
//! docs/runtimes.md states the bound.

use super::state::RateLimitState;
use crate::limit::{Decision, Limit, apply};
use crate::platform::memory::bounded::ExpiryMap;
use crate::platform::{KeyValueStore, Platform, Timestamp};
use bytes::Bytes;
use std::time::Duration;

/// How often an instance syncs a key it uses.
pub(crate) const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Workers KV refuses expirations closer than 60 s.
const MIN_KV_EXPIRY: Duration = Duration::from_secs(61);
/// Keys an instance keeps a local view of. Past that, the view dropped is
/// the one whose window ends first, among equals the one that has seen the
/// fewest requests, then the newest: a flood of fresh keys (one request
/// each) displaces other fresh keys, not a used one. A dropped view costs a
/// key-value read and what it admitted since its last sync (≤ 1 s of its
/// traffic), which the next sync can no longer add to the shared total.
const MAX_KEYS: usize = 10_000;

/// The local views of one instance, bounded (see [`MAX_KEYS`]).
#[derive(Debug)]
pub(crate) struct ApproxEntries(ExpiryMap<Entry>);

impl Default for ApproxEntries {
    fn default() -> Self {
        ApproxEntries(ExpiryMap::new(MAX_KEYS))
    }
}

impl ApproxEntries {
    /// The view of `key`, whatever its window.
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.0.get(key, Timestamp(0))
    }

    /// The view of `key` for the window ending at `window_end` (a fresh one
    /// when it holds another window or none).
    fn current(&self, key: &str, window_end: Timestamp) -> Entry {
        self.get(key)
            .filter(|e| e.window_end == window_end)
            .cloned()
            .unwrap_or(Entry { window_end, ..Entry::default() })
    }

    fn put(&mut self, key: &str, entry: Entry, now: Timestamp) {
        let (end, seen) = (entry.window_end, entry.seen());
        self.0.insert(key, entry, end, seen, now);
    }
}

/// One key's local view.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    window_end: Timestamp,
    /// The shared total at the last sync (this instance's part included).
    synced: u64,
    /// Admitted here since the last sync.
    pending: u64,
    last_sync: Option<Timestamp>,
    syncing: bool,
}

impl Entry {
    /// What this instance believes is used in the window.
    pub(crate) fn seen(&self) -> u64 {
        self.synced.saturating_add(self.pending)
    }
}

fn parse_total(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

impl RateLimitState {
    /// Decides one unit of `limit` (a `Limit::Count`) for `key`; never fails:
    /// a key-value store that cannot be reached only delays the sync.
    pub(crate) async fn acquire_approximate<P: Platform>(
        &self,
        platform: &P,
        key: &str,
        limit: &Limit,
        now: Timestamp,
    ) -> Decision {
        let Limit::Count { window_end, .. } = *limit else {
            return apply(limit, None, 0, now).decision;
        };
        let due = {
            let mut map = self.approx_lock();
            let mut entry = map.current(key, window_end);
            let due = !entry.syncing && entry.last_sync.is_none_or(|t| now.since(t) >= SYNC_INTERVAL);
            entry.syncing |= due;
            map.put(key, entry, now);
            due
        };
        let shared = if due {
            match platform.kv().get(key, now).await {
                Ok(v) => Some(v.map_or(0, |b| parse_total(&b))),
                Err(e) => {
                    tracing::warn!(key, error = %e, "approximate limit: sync read failed; counting locally");
                    None
                }
            }
        } else {
            None
        };
        let (decision, push) = {
            let mut map = self.approx_lock();
            let mut entry = map.current(key, window_end);
            if let Some(total) = shared {
                entry.synced = entry.synced.max(total);
            }
            let applied = apply(limit, Some(entry.synced.saturating_add(entry.pending)), 1, now);
            if applied.decision.admitted {
                entry.pending = entry.pending.saturating_add(1);
            }
            let push = shared.map(|total| (total, entry.pending));
            if shared.is_none() && due {
                entry.syncing = false;
            }
            map.put(key, entry, now);
            (applied.decision, push)
        };
        if let Some((total, taken)) = push {
            let new_total = total.saturating_add(taken);
            let expires = window_end.max(now.plus(MIN_KV_EXPIRY));
            let written = platform.kv().put(key, Bytes::from(new_total.to_string()), Some(expires)).await;
            let mut map = self.approx_lock();
            if let Some(mut entry) = map.get(key).filter(|e| e.window_end == window_end).cloned() {
                entry.syncing = false;
                entry.last_sync = Some(now);
                match written {
                    Ok(()) => {
                        entry.synced = entry.synced.max(new_total);
                        entry.pending = entry.pending.saturating_sub(taken);
                    }
                    Err(e) => tracing::warn!(key, error = %e, "approximate limit: sync write failed; counting locally"),
                }
                map.put(key, entry, now);
            }
        }
        decision
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use super::*;
    use crate::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_executor::block_on(f)
    }

    #[test]
    fn two_instances_sharing_a_store_stay_near_the_limit() {
        let platform = MemoryPlatform::new(ScriptedUpstream::new(|_| Script::Hang));
        let (a, b) = (RateLimitState::default(), RateLimitState::default());
        let end = Timestamp(1_000_000_000 + 60_000_000);
        let limit = Limit::Count { limit: 10, window_end: end };
        let mut admitted = 0;
        let mut now = Timestamp(1_000_000_000);
        for i in 0..40 {
            let instance = if i % 2 == 0 { &a } else { &b };
            if block_on(instance.acquire_approximate(&platform, "k", &limit, now)).admitted {
                admitted += 1;
            }
            now = now.plus(Duration::from_millis(600));
        }
        // Synced at most every second each: a little over 10, never 40.
        assert!((10..=14).contains(&admitted), "admitted {admitted}");
    }

    #[test]
    fn one_instance_is_exact_and_a_new_window_starts_from_zero() {
        let platform = MemoryPlatform::new(ScriptedUpstream::new(|_| Script::Hang));
        let state = RateLimitState::default();
        let limit = Limit::Count { limit: 3, window_end: Timestamp(10_000_000) };
        let got: Vec<bool> = (0..5)
            .map(|_| block_on(state.acquire_approximate(&platform, "k", &limit, Timestamp(1))).admitted)
            .collect();
        assert_eq!(got, vec![true, true, true, false, false]);
        let next = Limit::Count { limit: 3, window_end: Timestamp(20_000_000) };
        assert!(block_on(state.acquire_approximate(&platform, "k", &next, Timestamp(10_000_001))).admitted);
    }
}
