//! The hasher of every in-memory map whose keys a client can choose
//! (limiter keys, blocked keys, digests of credentials): SipHash-1-3 keyed
//! with 128 random bits per map, from `getrandom` (the OS natively,
//! `crypto.getRandomValues` on Workers). std's `RandomState` is keyed the
//! same way natively, but on wasm32-unknown-unknown std has no source of
//! randomness and its keys are fixed: there an attacker could compute keys
//! that all land in one bucket offline and turn every lookup of an
//! isolate's limiter maps into a scan (hash flooding).

use siphasher::sip::SipHasher13;
use std::hash::BuildHasher;

/// A `BuildHasher` with random keys, drawn when the map is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RandomKeys {
    k0: u64,
    k1: u64,
}

impl Default for RandomKeys {
    fn default() -> Self {
        let mut bytes = [0u8; 16];
        if let Err(e) = getrandom::fill(&mut bytes) {
            // Never seen on a supported platform; the map still works, keyed
            // by whatever the buffer holds, and the log says so.
            tracing::error!(error = %e, "no randomness for map keys: client-chosen keys can collide by design");
        }
        let (a, b) = bytes.split_at(8);
        let k0 = u64::from_le_bytes(a.try_into().unwrap_or([0; 8]));
        let k1 = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        RandomKeys { k0, k1 }
    }
}

impl BuildHasher for RandomKeys {
    type Hasher = SipHasher13;

    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_map_gets_its_own_keys() {
        let (a, b) = (RandomKeys::default(), RandomKeys::default());
        assert_ne!((a.k0, a.k1), (b.k0, b.k1));
        assert_ne!(a.hash_one("ip:192.0.2.1"), b.hash_one("ip:192.0.2.1"));
        assert_eq!(a.hash_one("ip:192.0.2.1"), a.hash_one("ip:192.0.2.1"));
    }
}
