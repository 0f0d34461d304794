//! A map of at most `capacity` entries, each with an expiry, whose eviction
//! follows value rather than age: when a write makes it one too many, the
//! entry dropped is the one that expires first; among entries expiring
//! together, the one holding the fewest units (its `weight`); among those,
//! the newest. An expired entry therefore always goes before a live one, and
//! a flood of fresh keys (one unit each, expiring no later than a spent key)
//! displaces other fresh keys, not a live count or an active block. Every
//! operation is O(log n) on an indexed heap (`priority-queue`): nothing
//! scans or clears the map. Used by the in-memory limiter and key-value
//! stores, by each instance's limiter state (blocks, approximate counts),
//! and by the DynamoDB limiter's memory of the items it saw.

use crate::platform::hash::RandomKeys;
use crate::time::Timestamp;
use priority_queue::PriorityQueue;
use std::cmp::Ordering;

/// Expired entries dropped per write besides the one a full map evicts, so
/// that they do not sit in the map until it fills up.
const PURGE_PER_WRITE: usize = 2;

/// One entry and its place in the eviction order.
struct Slot<V> {
    expires_at: Timestamp,
    weight: u64,
    /// Insertion order of the key (kept across updates): ties evict the newest.
    seq: u64,
    value: V,
}

impl<V> Slot<V> {
    /// Greater = evicted sooner (the heap's top is its greatest element).
    fn eviction_rank(&self) -> (std::cmp::Reverse<Timestamp>, std::cmp::Reverse<u64>, u64) {
        (std::cmp::Reverse(self.expires_at), std::cmp::Reverse(self.weight), self.seq)
    }
}

impl<V> PartialEq for Slot<V> {
    fn eq(&self, other: &Self) -> bool {
        self.eviction_rank() == other.eviction_rank()
    }
}

impl<V> Eq for Slot<V> {}

impl<V> PartialOrd for Slot<V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<V> Ord for Slot<V> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.eviction_rank().cmp(&other.eviction_rank())
    }
}

/// See the module comment.
pub struct ExpiryMap<V> {
    queue: PriorityQueue<Box<str>, Slot<V>, RandomKeys>,
    capacity: usize,
    next_seq: u64,
}

impl<V> std::fmt::Debug for ExpiryMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiryMap").field("len", &self.queue.len()).field("capacity", &self.capacity).finish()
    }
}

impl<V> ExpiryMap<V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        ExpiryMap { queue: PriorityQueue::with_default_hasher(), capacity: capacity.max(1), next_seq: 0 }
    }

    /// Entries held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The most entries the map holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The value of `key` while it lives (its expiry is after `now`).
    pub fn get(&self, key: &str, now: Timestamp) -> Option<&V> {
        self.queue.get_priority(key).filter(|s| s.expires_at > now).map(|s| &s.value)
    }

    /// When `key` expires, while it lives.
    pub fn expiry(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        self.queue.get_priority(key).map(|s| s.expires_at).filter(|t| *t > now)
    }

    /// Sets `key`. A full map then drops its first entry in eviction order,
    /// which may be this one when it expires before every other entry.
    pub fn insert(&mut self, key: &str, value: V, expires_at: Timestamp, weight: u64, now: Timestamp) {
        self.purge(now);
        if let Some(seq) = self.queue.get_priority(key).map(|s| s.seq) {
            self.queue.change_priority(key, Slot { expires_at, weight, seq, value });
            return;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.queue.push(key.into(), Slot { expires_at, weight, seq, value });
        if self.queue.len() > self.capacity {
            self.queue.pop();
        }
    }

    /// Drops `key`, giving back its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.queue.remove(key).map(|(_, s)| s.value)
    }

    /// Drops a few expired entries (they are at the top of the heap).
    fn purge(&mut self, now: Timestamp) {
        for _ in 0..PURGE_PER_WRITE {
            match self.queue.peek() {
                Some((_, s)) if s.expires_at <= now => {
                    self.queue.pop();
                }
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_evicts_expired_then_soonest_then_lightest_then_newest() {
        let mut m = ExpiryMap::new(3);
        let now = Timestamp(100);
        m.insert("a", (), Timestamp(200), 5, Timestamp(0));
        m.insert("old", (), Timestamp(50), 9, Timestamp(0));
        m.insert("b", (), Timestamp(200), 1, Timestamp(0));
        // Full: the expired entry goes first (the write purges it).
        m.insert("c", (), Timestamp(300), 1, now);
        assert_eq!(m.len(), 3);
        assert!(m.get("old", Timestamp(0)).is_none());
        // Then the soonest expiry, lightest first: b (200, 1) before a (200, 5).
        m.insert("d", (), Timestamp(300), 1, now);
        assert!(m.get("b", now).is_none() && m.get("a", now).is_some());
        // Among equals, the newest goes: e itself, not c or d.
        m.insert("a", (), Timestamp(300), 1, now);
        m.insert("e", (), Timestamp(300), 1, now);
        assert!(m.get("e", now).is_none());
        assert!(m.get("a", now).is_some() && m.get("c", now).is_some() && m.get("d", now).is_some());
    }

    #[test]
    fn updates_keep_the_key_and_move_it_in_the_order() {
        let mut m = ExpiryMap::new(2);
        m.insert("a", 1, Timestamp(10), 1, Timestamp(0));
        m.insert("b", 2, Timestamp(20), 1, Timestamp(0));
        m.insert("a", 3, Timestamp(30), 1, Timestamp(0));
        m.insert("c", 4, Timestamp(25), 1, Timestamp(0));
        assert_eq!(m.get("a", Timestamp(0)), Some(&3));
        assert_eq!(m.get("b", Timestamp(0)), None);
        assert_eq!(m.get("c", Timestamp(0)), Some(&4));
        assert_eq!(m.expiry("c", Timestamp(24)), Some(Timestamp(25)));
        assert_eq!(m.expiry("c", Timestamp(25)), None);
        assert_eq!(m.remove("c"), Some(4));
        assert_eq!(m.len(), 1);
    }
}
