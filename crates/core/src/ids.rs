//! Request ids and W3C trace context: keep a client's sane `X-Request-Id`,
//! continue a valid `traceparent` with a new span, start one otherwise.

std::thread_local! {
    /// wyrand state, seeded once per thread from the OS (ids must be unique
    /// and unguessable enough, not secret: a syscall per id is not needed).
    static RNG: std::cell::Cell<u64> = std::cell::Cell::new(seed());
}

fn seed() -> u64 {
    let mut buf = [0u8; 8];
    if getrandom::fill(&mut buf).is_err() {
        // No entropy source: distinct per thread is still required.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x9e37_79b9_7f4a_7c15);
        return COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
    }
    u64::from_le_bytes(buf)
}

/// A random number from this thread's generator (not for secrets).
pub(crate) fn random_u64() -> u64 {
    next_u64()
}

fn next_u64() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    for chunk in buf.chunks_mut(8) {
        let v = next_u64().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    buf
}

/// A client's id is kept when it matches `[A-Za-z0-9._:-]{1,128}`.
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

pub fn new_request_id() -> String {
    hex::encode(random_bytes::<16>())
}

/// The `traceparent` to send upstream: the client's trace with a new span id
/// when its header is valid, else a new sampled trace. Second value: whether
/// the client's trace was continued (then `tracestate` may pass too).
pub fn next_traceparent(incoming: Option<&str>) -> (String, bool) {
    let span = hex::encode(random_bytes::<8>());
    if let Some((trace, flags)) = incoming.and_then(parse_traceparent) {
        return (format!("00-{trace}-{span}-{flags}"), true);
    }
    (format!("00-{}-{span}-01", hex::encode(random_bytes::<16>())), false)
}

fn parse_traceparent(v: &str) -> Option<(&str, &str)> {
    let mut parts = v.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let lower_hex =
        |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let ok = version == "00"
        && parts.next().is_none()
        && lower_hex(trace, 32)
        && lower_hex(parent, 16)
        && lower_hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    ok.then_some((trace, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_sanity() {
        assert!(is_sane_request_id("abc-123_x.y:z"));
        assert!(is_sane_request_id(&"a".repeat(128)));
        for bad in ["", &"a".repeat(129), "a b", "a\"b", "é", "a/b", "<script>"] {
            assert!(!is_sane_request_id(bad), "{bad}");
        }
        let id = new_request_id();
        assert!(is_sane_request_id(&id) && id.len() == 32);
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn traceparent_is_continued_or_started() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (tp, continued) = next_traceparent(Some(incoming));
        assert!(continued);
        assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp.ends_with("-01"));
        assert!(!tp.contains("00f067aa0ba902b7"), "a new span id");
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            let (tp, continued) = next_traceparent(Some(bad));
            assert!(!continued, "{bad}");
            assert_eq!(tp.len(), 55);
            assert!(parse_traceparent(&tp).is_some());
        }
    }
}
