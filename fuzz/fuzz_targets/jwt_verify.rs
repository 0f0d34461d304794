//! The JWT verifier (spec §7): header, claims and JWKS parsing on hostile
//! bytes. The first input byte picks the mode:
//!
//! - even: `TOKEN\nJWKS`: an arbitrary token never verifies, neither against
//!   the fixed HS256 issuer nor against an issuer whose JWKS endpoint answers
//!   the arbitrary document `JWKS` (nobody here holds a private key), and the
//!   second verification (on the cached keys) agrees with the first.
//! - odd: `HEADER\nCLAIMS`: the harness signs the two JSON texts with the
//!   HS256 issuer's secret. A token that verifies then has `alg: HS256`, no
//!   `crit`, and claims that pass every check (`exp`, `nbf`, `iat` within the
//!   leeway, `iss`, `aud`); the same token with one signature bit flipped
//!   never verifies.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sha2::Sha256;
use tollgate_core::fuzzing::{
    JWT_AUDIENCE, JWT_ISSUER, JWT_LEEWAY_SECS, JWT_SECRET, platform_now_secs, verify_hs256, verify_with_jwks,
};

/// Known open (reported in issue 9's fuzzing notes, reproducer in
/// `fuzz/artifacts-found/jwt-header-invalid-utf8`): a header member the
/// verifier ignores (`typ`, `cty`, ...) is skipped without checking that its
/// string is UTF-8, so a signed header that is not valid JSON verifies. Set
/// to `false` once `auth/jwt.rs` insists on a valid JSON header.
const KNOWN_OPEN_HEADER_UTF8: bool = false;

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn number(claims: &serde_json::Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).map(|v| v.as_f64().unwrap_or_else(|| panic!("accepted a non-numeric {name}: {v}")))
}

fn signed_mode(header: &[u8], claims: &[u8]) {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    let mut signature = mac.finalize().into_bytes().to_vec();
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let result = verify_hs256(&token).expect("a static-key issuer never waits");
    if let Ok(verified) = &result {
        let header: Value = match serde_json::from_slice(header) {
            Ok(h) => h,
            Err(_) if KNOWN_OPEN_HEADER_UTF8 => serde_json::from_str(&String::from_utf8_lossy(header))
                .unwrap_or_else(|e| panic!("a verified token's header is not JSON: {e}")),
            Err(e) => panic!("a verified token's header is not JSON (RFC 7515 §5.2 step 4): {e}"),
        };
        assert_eq!(header.get("alg"), Some(&Value::from("HS256")), "verified with header {header}");
        assert!(header.get("crit").is_none(), "verified with crit: {header}");
        let now = platform_now_secs();
        let exp = number(verified, "exp").expect("verified without exp");
        assert!(now <= exp + JWT_LEEWAY_SECS, "verified expired token: exp {exp}, now {now}");
        if let Some(nbf) = number(verified, "nbf") {
            assert!(nbf <= now + JWT_LEEWAY_SECS, "verified before nbf {nbf}");
        }
        if let Some(iat) = number(verified, "iat") {
            assert!(iat <= now + JWT_LEEWAY_SECS, "verified iat in the future {iat}");
        }
        assert_eq!(verified.get("iss"), Some(&Value::from(JWT_ISSUER)), "verified with iss {:?}", verified.get("iss"));
        let aud_ok = match verified.get("aud") {
            Some(Value::String(a)) => a == JWT_AUDIENCE,
            Some(Value::Array(items)) => items.iter().all(Value::is_string) && items.iter().any(|a| a == JWT_AUDIENCE),
            _ => false,
        };
        assert!(aud_ok, "verified with aud {:?}", verified.get("aud"));
        let parsed: Value = serde_json::from_slice(claims).expect("a verified token's claims are JSON");
        assert_eq!(Some(verified), parsed.as_object(), "the claims returned are the claims signed");
    }
    signature[0] ^= 1;
    let forged = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
    let forged_result = verify_hs256(&forged).expect("a static-key issuer never waits");
    assert!(forged_result.is_err(), "a token with a flipped signature bit verified: {forged:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (first, second) = split(rest);
    if mode % 2 == 1 {
        signed_mode(first, second);
        return;
    }
    let token = String::from_utf8_lossy(first);
    let hs = verify_hs256(&token).expect("a static-key issuer never waits");
    assert!(hs.is_err(), "an arbitrary token verified against the HS256 issuer: {token:?}");
    let [once, twice] = verify_with_jwks(&token, second).expect("the JWKS issuer never waits on an answering endpoint");
    assert!(once.is_err() && twice.is_err(), "an arbitrary token verified against an arbitrary JWKS: {token:?}");
    assert_eq!(once, twice, "the cached keys answered differently: {token:?}");
});
