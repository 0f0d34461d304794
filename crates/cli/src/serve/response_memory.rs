//! The local server's memory for answers (`limits.max_response_memory`):
//! the bytes of answer bodies held for clients at once — being written, or
//! waiting for a client that reads slowly until `send_timeout` cuts it off.
//! Each answer takes its size from the budget before it is sent and gives it
//! back when its body is dropped; an answer that would pass the budget is
//! replaced by a 503 `overloaded` problem. So slow readers can make the
//! gateway refuse large answers for a while, never run it out of memory.
//!
//! The body goes to hyper in pieces of at most [`PIECE`] bytes, each a copy:
//! hyper queues a few pieces ahead of the socket, and a copy (unlike a slice)
//! does not keep the whole answer alive after the body, and its budget, are
//! gone. What is held outside the budget is therefore at most hyper's queue
//! (16 pieces, 1 MiB) per connection.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// The largest piece of an answer handed to hyper at once.
pub(crate) const PIECE: usize = 64 * 1024;

/// The budget, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct ResponseMemory {
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

impl ResponseMemory {
    pub(crate) fn new(max: u64) -> Self {
        ResponseMemory { held: Arc::new(AtomicU64::new(0)), max }
    }

    /// Takes `bytes`, or `None` when that would pass the budget.
    pub(crate) fn take(&self, bytes: u64) -> Option<Held> {
        let mut current = self.held.load(Ordering::Acquire);
        loop {
            let next = current.checked_add(bytes).filter(|n| *n <= self.max)?;
            match self.held.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Held { held: self.held.clone(), bytes }),
                Err(seen) => current = seen,
            }
        }
    }

    /// Bytes held right now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::Acquire)
    }
}

/// An answer body that holds its bytes of the budget until it is dropped.
#[derive(Debug)]
pub(crate) struct HeldBody {
    rest: Bytes,
    /// More than one piece: every piece is a copy.
    large: bool,
    _held: Option<Held>,
}

impl HeldBody {
    pub(crate) fn new(body: Bytes, held: Option<Held>) -> Self {
        HeldBody { large: body.len() > PIECE, rest: body, _held: held }
    }
}

impl Body for HeldBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        let piece = if this.large {
            // A copy, so that no slice of the answer outlives the body.
            let n = this.rest.len().min(PIECE);
            let copy = Bytes::copy_from_slice(&this.rest[..n]);
            this.rest = this.rest.slice(n..);
            copy
        } else {
            std::mem::take(&mut this.rest)
        };
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn the_budget_is_never_passed_and_comes_back_on_drop() {
        let memory = ResponseMemory::new(100);
        let a = memory.take(60).expect("fits");
        assert!(memory.take(41).is_none(), "60 + 41 > 100");
        let b = memory.take(40).expect("60 + 40 fits");
        assert_eq!(memory.held(), 100);
        assert!(memory.take(1).is_none());
        drop(a);
        assert_eq!(memory.held(), 40);
        drop(b);
        assert_eq!(memory.held(), 0);
        assert!(memory.take(u64::MAX).is_none(), "no overflow");
    }

    #[test]
    fn a_body_gives_its_bytes_back_when_dropped_midway_and_yields_every_byte() {
        let memory = ResponseMemory::new(1 << 30);
        let answer: Vec<u8> = (0..(3 * PIECE + 17)).map(|i| (i % 251) as u8).collect();
        let body = HeldBody::new(Bytes::from(answer.clone()), memory.take(answer.len() as u64));
        assert_eq!(memory.held(), answer.len() as u64);
        let Ok(collected) = block_on(body.collect());
        let collected = collected.to_bytes();
        assert_eq!(collected.as_ref(), answer.as_slice());
        assert_eq!(memory.held(), 0, "the body was dropped once read");

        // A client that stops reading: the body is dropped with the connection.
        let mut body = HeldBody::new(Bytes::from(answer.clone()), memory.take(answer.len() as u64));
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let first = Pin::new(&mut body).poll_frame(&mut cx);
        assert!(matches!(first, Poll::Ready(Some(Ok(ref f))) if f.data_ref().is_some_and(|d| d.len() == PIECE)));
        assert_eq!(body.size_hint().exact(), Some((2 * PIECE + 17) as u64));
        drop(body);
        assert_eq!(memory.held(), 0);
    }

    fn noop_waker() -> std::task::Waker {
        std::task::Waker::noop().clone()
    }

    /// Polls to the end: every future here is ready without waiting.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let waker = noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
