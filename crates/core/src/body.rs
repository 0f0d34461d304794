//! Body sizes, one rule on every runtime: the declared `Content-Length`, and
//! reading a body chunk by chunk under a cap so that nothing past the cap is
//! ever held. The pipeline checks client bodies with it; every adapter reads
//! client and upstream bodies with it.

use http::HeaderMap;

/// The body length a message declares: its first `Content-Length`, when
/// that is a decimal number (surrounding whitespace allowed).
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// A body is (or is declared) longer than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The cap that was passed, in bytes.
    pub cap: u64,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the body is larger than {} bytes", self.cap)
    }
}

impl std::error::Error for TooLarge {}

/// A body being read under a cap, chunk by chunk.
#[derive(Debug)]
pub struct CappedBody {
    buf: Vec<u8>,
    cap: u64,
}

impl CappedBody {
    /// Starts reading a body of the message with `headers`: refused at once
    /// when it declares more than `cap` bytes; room for the declared length
    /// is reserved up front.
    pub fn new(headers: &HeaderMap, cap: u64) -> Result<Self, TooLarge> {
        let declared = declared_length(headers);
        if declared.is_some_and(|n| n > cap) {
            return Err(TooLarge { cap });
        }
        let room = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        Ok(CappedBody { buf: Vec::with_capacity(room), cap })
    }

    /// Whether `more` bytes still fit under the cap (before taking them).
    pub fn admit(&self, more: usize) -> Result<(), TooLarge> {
        if self.buf.len() as u64 + more as u64 > self.cap { Err(TooLarge { cap: self.cap }) } else { Ok(()) }
    }

    /// Adds a chunk (copied), or refuses it when the body would pass the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        self.admit(chunk.len())?;
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// Adds a chunk the caller owns: the first one becomes the buffer itself
    /// (no copy), later ones are appended.
    pub fn push_owned(&mut self, chunk: Vec<u8>) -> Result<(), TooLarge> {
        self.admit(chunk.len())?;
        if self.buf.is_empty() && chunk.capacity() >= self.buf.capacity() {
            self.buf = chunk;
        } else {
            self.buf.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// Bytes read so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The whole body.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_length(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, value.parse().expect("value"));
        h
    }

    #[test]
    fn the_declared_length_is_a_decimal_number_or_nothing() {
        assert_eq!(declared_length(&with_length("42")), Some(42));
        assert_eq!(declared_length(&with_length(" 42 ")), Some(42));
        for bad in ["", "-1", "4 2", "0x10", "1e3", "18446744073709551616"] {
            assert_eq!(declared_length(&with_length(bad)), None, "{bad:?}");
        }
        assert_eq!(declared_length(&HeaderMap::new()), None);
    }

    #[test]
    fn a_body_stops_at_the_cap_whichever_way_it_comes() {
        assert_eq!(CappedBody::new(&with_length("11"), 10).map(|_| ()), Err(TooLarge { cap: 10 }));
        let mut body = CappedBody::new(&with_length("10"), 10).expect("within the cap");
        body.push(b"01234").expect("5");
        body.push_owned(b"56789".to_vec()).expect("10");
        assert_eq!(body.push(b"x"), Err(TooLarge { cap: 10 }));
        assert_eq!(body.into_vec(), b"0123456789");
        // Undeclared: counted as it comes.
        let mut body = CappedBody::new(&HeaderMap::new(), 4).expect("no length");
        assert!(body.push_owned(vec![1, 2, 3]).is_ok());
        assert!(body.push_owned(vec![4, 5]).is_err());
        assert_eq!(body.len(), 3);
    }

    #[test]
    fn the_first_owned_chunk_is_kept_without_a_copy() {
        let mut body = CappedBody::new(&HeaderMap::new(), 100).expect("no length");
        let chunk = vec![7u8; 32];
        let at = chunk.as_ptr();
        body.push_owned(chunk).expect("fits");
        let kept = body.into_vec();
        assert_eq!(kept.as_ptr(), at);
    }
}
