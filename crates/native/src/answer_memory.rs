//! Memory for upstream answers (the local server's
//! `limits.max_response_memory`): the bytes of answer bodies alive at once —
//! being read from upstreams, passed through the pipeline, queued for a
//! client, or waiting for a client that reads slowly until `send_timeout`
//! cuts it off. The upstream client takes each frame's size from the budget
//! as it reads it; the answer's `Bytes` own what they took
//! ([`Bytes::from_owner`]) and give it back when the last of them (a slice
//! in hyper's write queue included) is dropped. An answer that would pass
//! the budget is not read further: `UpstreamError::Overloaded`, a 503
//! `overloaded` problem. So slow readers can make the gateway refuse large
//! answers for a while, never run it out of memory.

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The budget, shared by every request of the process.
#[derive(Debug, Clone)]
pub struct AnswerMemory {
    held: Arc<AtomicU64>,
    max: u64,
}

/// Bytes taken from the budget; dropping it gives them back.
#[derive(Debug)]
pub(crate) struct Held {
    held: Arc<AtomicU64>,
    bytes: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl Held {
    /// Takes `more` bytes too, or leaves everything as it was when that
    /// would pass the budget.
    pub(crate) fn grow(&mut self, memory: &AnswerMemory, more: u64) -> bool {
        if memory.reserve(more) {
            self.bytes += more;
            true
        } else {
            false
        }
    }
}

impl AnswerMemory {
    pub fn new(max: u64) -> Self {
        AnswerMemory { held: Arc::new(AtomicU64::new(0)), max }
    }

    fn reserve(&self, bytes: u64) -> bool {
        let mut current = self.held.load(Ordering::Acquire);
        loop {
            let Some(next) = current.checked_add(bytes).filter(|n| *n <= self.max) else { return false };
            match self.held.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }

    /// An empty hold on this budget, to [`Held::grow`].
    pub(crate) fn hold(&self) -> Held {
        Held { held: self.held.clone(), bytes: 0 }
    }

    /// Bytes held right now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Acquire)
    }
}

/// An answer body and the budget it holds, as the owner of its `Bytes`.
struct Owned {
    buf: Vec<u8>,
    _held: Held,
}

impl AsRef<[u8]> for Owned {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

/// `buf` as `Bytes` that give `held` back when the last of them is dropped.
pub(crate) fn owned_bytes(buf: Vec<u8>, held: Held) -> Bytes {
    Bytes::from_owner(Owned { buf, _held: held })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_never_passed_and_comes_back_when_the_last_slice_goes() {
        let memory = AnswerMemory::new(100);
        let mut a = memory.hold();
        assert!(a.grow(&memory, 60));
        let mut b = memory.hold();
        assert!(!b.grow(&memory, 41), "60 + 41 > 100");
        assert!(b.grow(&memory, 40));
        assert_eq!(memory.held(), 100);
        assert!(!memory.hold().grow(&memory, 1));
        assert!(!memory.hold().grow(&memory, u64::MAX), "no overflow");
        let bytes = owned_bytes(vec![7u8; 60], a);
        let tail = bytes.slice(50..);
        drop(bytes);
        assert_eq!(memory.held(), 100, "a slice keeps the answer, and its budget, alive");
        assert_eq!(tail.as_ref(), &[7u8; 10]);
        drop(tail);
        assert_eq!(memory.held(), 40);
        drop(b);
        assert_eq!(memory.held(), 0);
    }
}
