//! Path normalisation (spec §4 Matching, issue 9 finding 3): any input either
//! is refused or normalises to a path that normalising again leaves as it is
//! and that hides no separator, NUL, control character or dot segment behind
//! one (or, for separators and dot segments, two) more rounds of decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::uri::normalize::normalize;

/// Decodes every `%XY` escape once (what a backend that decodes again does).
fn decode_once(b: &[u8]) -> Vec<u8> {
    let hex = |c: Option<&u8>| c.and_then(|c| char::from(*c).to_digit(16)).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let Ok(once) = normalize(&input) else { return };
    let again = normalize(&once);
    assert_eq!(again.as_ref(), Ok(&once), "not idempotent: {input:?} -> {once:?} -> {again:?}");
    assert!(once.starts_with('/'), "{once:?}");
    assert!(!once.contains("//"), "`//` in {once:?} from {input:?}");
    assert!(!once.bytes().any(|b| b == b'\\' || b == b';' || b < 0x20 || b == 0x7f), "{once:?} from {input:?}");
    for segment in once.split('/').skip(1) {
        assert!(segment != "." && segment != "..", "dot segment in {once:?} from {input:?}");
        let decoded = decode_once(segment.as_bytes());
        assert!(
            !decoded.iter().any(|&c| c == b'/' || c == b'\\' || c < 0x20 || c == 0x7f),
            "{once:?} hides a separator or control character (from {input:?})"
        );
        assert!(decoded != b"." && decoded != b"..", "{once:?} hides a dot segment (from {input:?})");
        let twice = decode_once(&decoded);
        assert!(
            !twice.iter().any(|&c| c == b'/' || c == b'\\' || c == 0),
            "{once:?} hides a separator or NUL after two decodings (from {input:?})"
        );
        assert!(twice != b"." && twice != b"..", "{once:?} hides a dot segment after two decodings (from {input:?})");
    }
});
