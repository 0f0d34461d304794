//! Properties of path normalisation (spec §4 Matching, issue 9 finding 3):
//! normalising an accepted path again changes nothing, and no accepted path
//! hides a separator, dot segment, NUL or control character behind one more
//! round of percent-decoding. The generators are made of the pieces such
//! bypasses are built from (`%`, `%25`, hex digits and their own escapes,
//! dots, slashes), so that they find combinations like `%25%32%65`.

use proptest::prelude::*;
use tollgate_core::uri::normalize::normalize;

/// Decodes every `%XY` escape once (what a backend that decodes again does).
fn decode_once(s: &str) -> Vec<u8> {
    fn hex(c: u8) -> Option<u8> {
        char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escape = match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => Some(h * 16 + l),
            _ => None,
        };
        match escape {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// The checks every accepted path must pass.
fn check(input: &str) -> Result<(), TestCaseError> {
    let Ok(once) = normalize(input) else { return Ok(()) };
    prop_assert_eq!(normalize(&once), Ok(once.clone()), "not idempotent for {:?}", input);
    prop_assert!(once.starts_with('/'));
    prop_assert!(!once.contains("//"), "{once}");
    for segment in once.split('/').skip(1) {
        prop_assert!(segment != "." && segment != "..", "dot segment in {once} from {input:?}");
        // One more decoding must not make a separator, a dot segment, NUL,
        // a control character or another escape of those.
        let again = decode_once(segment);
        prop_assert!(
            !again.iter().any(|&c| c == b'/' || c == b'\\' || c < 0x20 || c == 0x7f),
            "{once} hides a separator or control character (from {input:?})"
        );
        prop_assert!(again != b"." && again != b"..", "{once} hides a dot segment (from {input:?})");
        let twice = decode_once(&String::from_utf8_lossy(&again));
        prop_assert!(
            !twice.iter().any(|&c| c == b'/' || c == b'\\' || c == 0),
            "{once} hides a separator after two decodings (from {input:?})"
        );
    }
    Ok(())
}

/// Pieces: the characters of escapes, escapes of hex digits and dots, `%25`.
fn piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("/"),
        Just("."),
        Just("%"),
        Just("%25"),
        Just("%2"),
        Just("%3"),
        Just("%32"),
        Just("%33"),
        Just("%35"),
        Just("%30"),
        Just("%37"),
        Just("%36"),
        Just("%34"),
        Just("%41"),
        Just("%43"),
        Just("%45"),
        Just("%46"),
        Just("%61"),
        Just("%63"),
        Just("%65"),
        Just("%66"),
        Just("%2e"),
        Just("%2E"),
        Just("0"),
        Just("2"),
        Just("5"),
        Just("7"),
        Just("a"),
        Just("c"),
        Just("C"),
        Just("e"),
        Just("E"),
        Just("f"),
        Just("F"),
        Just("x"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Strings made of escape pieces, one after another.
    #[test]
    fn pieces_normalise_idempotently(parts in proptest::collection::vec(piece(), 0..16)) {
        check(&format!("/{}", parts.concat()))?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Strings over the alphabet of escapes, character by character.
    #[test]
    fn escape_alphabet_normalises_idempotently(s in "[/%.0-9a-fA-F2eEfFxyz\\\\;]{0,24}") {
        check(&format!("/{s}"))?;
    }

    /// Arbitrary bytes (as the URI parser would hand over their text).
    #[test]
    fn arbitrary_bytes_normalise_idempotently(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        check(&format!("/{}", String::from_utf8_lossy(&bytes)))?;
    }
}

#[test]
fn reported_bypasses_are_refused() {
    for input in ["/public/%25%32%65%25%32%65/admin", "/a/%25%32%46b"] {
        assert!(normalize(input).is_err(), "{input} must be refused");
    }
}
