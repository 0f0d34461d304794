//! API keys: only their SHA-256 is stored (`sha256:<64 hex>`, as printed by
//! `tollgate hash-key`), and a presented key is compared against every stored
//! digest in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The digest of a presented key.
pub(crate) fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The stored form of a key: `sha256:<64 lowercase hex>`.
pub fn stored_form(key: &str) -> String {
    format!("sha256:{}", hex::encode(digest(key)))
}

/// Parses `sha256:<64 hex>` into a digest.
pub(crate) fn parse_stored(text: &str) -> Result<[u8; 32], String> {
    let hex = text.strip_prefix("sha256:").ok_or_else(|| {
        "an API key must be stored hashed as `sha256:<64 hex>` (see `tollgate hash-key`), never in clear".to_owned()
    })?;
    if hex.len() != 64 {
        return Err(format!("`{text}`: the digest must be 64 hex digits"));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| format!("`{text}`: not hex"))?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| format!("`{text}`: not hex"))?;
    }
    Ok(out)
}

/// Finds `presented` among `stored` without an early exit: every candidate is
/// compared, whatever matched before.
pub(crate) fn find<'a, T>(presented: &[u8; 32], stored: &'a [([u8; 32], T)]) -> Option<&'a T> {
    let mut found = None;
    for (digest, value) in stored {
        let equal: bool = digest.ct_eq(presented).into();
        if equal && found.is_none() {
            found = Some(value);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_sha256_hex() {
        // sha256("test"), as in the spec's example consumer.
        assert_eq!(stored_form("test"), "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        assert_eq!(parse_stored(&stored_form("test")), Ok(digest("test")));
    }

    #[test]
    fn malformed_stored_forms_are_refused() {
        for bad in ["test", "sha256:", "sha256:zz", &format!("sha256:{}", "a".repeat(63)), "md5:abc"] {
            assert!(parse_stored(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookup_finds_the_matching_digest_only() {
        let stored = vec![(digest("a"), "acme"), (digest("b"), "globex")];
        assert_eq!(find(&digest("b"), &stored), Some(&"globex"));
        assert_eq!(find(&digest("c"), &stored), None);
    }
}
