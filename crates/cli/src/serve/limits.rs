//! The local server's connection cap: how many client connections may be
//! open at once (`limits.max_connections`, by default sized from the
//! process's file-descriptor limit), and what a connection past the cap
//! gets: a 503 problem written without waiting, then the connection closed.
//! Refusing (rather than leaving connections queued in the kernel's accept
//! backlog) tells a client or a load balancer at once to go elsewhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use tollgate_core::GatewayError;

/// File descriptors kept for everything that is not a client connection
/// (listener, log, config, DNS, the upstream pool's idle connections).
const FD_HEADROOM: u64 = 64;

/// The default cap: every client connection may hold one upstream connection
/// beside it, so half of the descriptors left after the headroom. The soft
/// limit is raised to the hard one first (as Go's runtime does).
pub(crate) fn default_max_connections() -> u64 {
    let nofile = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the file-descriptor limit; assuming 1024");
            1024
        }
    };
    (nofile.saturating_sub(FD_HEADROOM) / 2).clamp(1, 1 << 20)
}

/// The count of open client connections, shared by the accept loop and
/// every connection task.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    open: Arc<AtomicU64>,
    max: u64,
}

/// One taken slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicU64>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    pub(crate) fn new(max: u64) -> Self {
        Slots { open: Arc::new(AtomicU64::new(0)), max }
    }

    /// A slot, or `None` when `max` connections are open.
    pub(crate) fn take(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .ok()
            .map(|_| Slot(self.open.clone()))
    }
}

/// What a connection past the cap is sent before it is closed: the core's
/// `too-many-connections` problem as raw HTTP/1.1, built once.
pub(crate) static REFUSAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let resp = GatewayError::TooManyConnections.to_response("");
    let mut out = format!("HTTP/1.1 {}\r\n", resp.status()).into_bytes();
    for (name, value) in resp.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("connection: close\r\ncontent-length: {}\r\n\r\n", resp.body().len()).as_bytes());
    out.extend_from_slice(resp.body());
    out
});

/// Sends [`REFUSAL`] if the socket takes it at once (never waits on the
/// client), then closes the connection.
pub(crate) fn refuse(stream: tokio::net::TcpStream) {
    let _ = stream.try_write(&REFUSAL);
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stop_at_the_cap_and_come_back_when_dropped() {
        let slots = Slots::new(2);
        let a = slots.take().expect("first");
        let _b = slots.take().expect("second");
        assert!(slots.take().is_none(), "third is refused");
        drop(a);
        assert!(slots.take().is_some(), "a freed slot can be taken again");
    }

    #[test]
    fn the_refusal_declares_its_true_length() {
        let text = std::str::from_utf8(&REFUSAL).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{text}");
        assert!(text.contains("retry-after: 1\r\n") && text.contains("content-type: application/problem+json\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{}", body.len());
        let _: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    }
}
