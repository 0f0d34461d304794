//! Unit tests of `auth::jwt` and its JWKS cache: one case per accepted token
//! family and per refusal, driven by the manual clock and a scripted JWKS
//! endpoint. Test keys are fixed PEM files under `tests/data/jwt/`
//! (`gen_keys.py`); `pyjwt_tokens.json` holds tokens minted by PyJWT.

use super::jwks::{self, DEFAULT_TTL, EMPTY_RETRY, JwksCache, MAX_TTL, MIN_TTL, REFRESH_INTERVAL};
use super::{Claims, JwtError, JwtIssuer, MAX_TOKEN_BYTES};
use crate::config::JwtConfig;
use crate::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use crate::platform::{Clock, UpstreamError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures_executor::block_on;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RSA_PRIVATE: &str = include_str!("../../tests/data/jwt/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../../tests/data/jwt/rsa_public.pem");
const RSA_OTHER_PRIVATE: &str = include_str!("../../tests/data/jwt/rsa_other_private.pem");
const EC256_PRIVATE: &str = include_str!("../../tests/data/jwt/ec256_private.pem");
const EC256_PUBLIC: &str = include_str!("../../tests/data/jwt/ec256_public.pem");
const EC256_OTHER_PRIVATE: &str = include_str!("../../tests/data/jwt/ec256_other_private.pem");
const EC384_PRIVATE: &str = include_str!("../../tests/data/jwt/ec384_private.pem");
const EC384_PUBLIC: &str = include_str!("../../tests/data/jwt/ec384_public.pem");
const ED25519_PRIVATE: &str = include_str!("../../tests/data/jwt/ed25519_private.pem");
const ED25519_PUBLIC: &str = include_str!("../../tests/data/jwt/ed25519_public.pem");
const PYJWT_TOKENS: &str = include_str!("../../tests/data/jwt/pyjwt_tokens.json");

const SECRET: &str = "test-secret-of-at-least-32-bytes!!";
const ISS: &str = "https://issuer.test/";
const JWKS_URL: &str = "https://issuer.test/.well-known/jwks.json";
/// `MemoryPlatform::new` starts its clock here (seconds since the epoch).
const NOW: i64 = 1_790_000_000;

// ---------------------------------------------------------------- helpers

fn config(value: Value) -> JwtConfig {
    serde_json::from_value(value).expect("test config")
}

fn compile(value: Value) -> JwtIssuer {
    JwtIssuer::compile("main", &config(value)).expect("issuer compiles")
}

fn compile_errors(value: Value) -> Vec<String> {
    match JwtIssuer::compile("main", &config(value)) {
        Ok(_) => panic!("expected config errors"),
        Err(errors) => errors,
    }
}

fn hs_issuer() -> JwtIssuer {
    compile(json!({ "algorithms": ["HS256"], "secret": SECRET, "issuer": ISS, "audience": "api" }))
}

/// An upstream that must not be called (static keys).
fn no_upstream() -> MemoryPlatform {
    MemoryPlatform::new(ScriptedUpstream::new(|_| {
        Script::Fail(UpstreamError::Connect("no upstream in this test".into()))
    }))
}

fn good_claims() -> Value {
    json!({ "sub": "alice", "iss": ISS, "aud": "api", "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 300 })
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

fn encoding_key(alg: Algorithm, pem: &str) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            EncodingKey::from_secret(pem.as_bytes()).expect("secret")
        }
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()).expect("ec pem"),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()).expect("ed pem"),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem"),
    }
}

/// A token with exactly this header and payload text, signed with `key`
/// (whatever the header says).
fn sign_raw(header: &str, payload: &str, alg: Algorithm, key: &str) -> String {
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &encoding_key(alg, key), alg).expect("sign");
    format!("{message}.{signature}")
}

fn mint(header: Value, claims: Value, alg: Algorithm, key: &str) -> String {
    sign_raw(&b64(&header), &b64(&claims), alg, key)
}

fn hs256(claims: Value) -> String {
    mint(json!({ "alg": "HS256", "typ": "JWT" }), claims, Algorithm::HS256, SECRET)
}

fn verify(issuer: &JwtIssuer, platform: &MemoryPlatform, token: &str) -> Result<Claims, JwtError> {
    block_on(issuer.verify(platform, &JwksCache::default(), token))
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("object").remove(name);
    claims
}

/// The public JWK of a private test key, with `kid` and optional extra members.
fn jwk(alg: Algorithm, private_pem: &str, kid: &str, extra: Value) -> Value {
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding_key(alg, private_pem), alg).expect("jwk");
    let mut value = serde_json::to_value(jwk).expect("jwk json");
    value["kid"] = json!(kid);
    // `from_encoding_key` fills in `alg`; the tests add it back where they mean it.
    value.as_object_mut().expect("object").remove("alg");
    if let (Some(obj), Value::Object(extra)) = (value.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, v);
            }
        }
    }
    value
}

/// What the scripted JWKS endpoint answers.
#[derive(Clone)]
enum Endpoint {
    Serve { keys: Vec<Value>, cache_control: Option<&'static str> },
    Status(u16),
    Body(&'static str),
    Down,
    Hang,
}

/// A JWKS endpoint whose answer the test can change, on a `MemoryPlatform`.
struct JwksServer {
    endpoint: Arc<Mutex<Endpoint>>,
    platform: MemoryPlatform,
    /// The issuer's key-set cache, as the gateway state holds it.
    cache: JwksCache,
}

impl JwksServer {
    fn new(keys: Vec<Value>) -> JwksServer {
        Self::with_endpoint(Endpoint::Serve { keys, cache_control: None })
    }

    fn with_endpoint(endpoint: Endpoint) -> JwksServer {
        let endpoint = Arc::new(Mutex::new(endpoint));
        let shared = endpoint.clone();
        let upstream = ScriptedUpstream::new(move |req| {
            if req.uri() != JWKS_URL {
                return Script::Fail(UpstreamError::Connect(format!("unexpected request to {}", req.uri())));
            }
            match shared.lock().expect("endpoint").clone() {
                Endpoint::Serve { keys, cache_control } => {
                    let mut builder = http::Response::builder().status(200).header("content-type", "application/json");
                    if let Some(cc) = cache_control {
                        builder = builder.header("cache-control", cc);
                    }
                    let body = json!({ "keys": keys }).to_string();
                    Script::Respond(builder.body(Bytes::from(body)).expect("response"))
                }
                Endpoint::Status(status) => {
                    Script::Respond(http::Response::builder().status(status).body(Bytes::new()).expect("response"))
                }
                Endpoint::Body(body) => Script::Respond(http::Response::new(Bytes::from_static(body.as_bytes()))),
                Endpoint::Down => Script::Fail(UpstreamError::Connect("connection refused".into())),
                Endpoint::Hang => Script::Hang,
            }
        });
        JwksServer { endpoint, platform: MemoryPlatform::new(upstream), cache: JwksCache::default() }
    }

    fn set(&self, endpoint: Endpoint) {
        *self.endpoint.lock().expect("endpoint") = endpoint;
    }

    fn requests(&self) -> usize {
        self.platform.upstream.requests().len()
    }

    fn advance(&self, secs: u64) {
        self.platform.clock.advance(Duration::from_secs(secs));
    }

    fn verify(&self, issuer: &JwtIssuer, token: &str) -> Result<Claims, JwtError> {
        block_on(issuer.verify(&self.platform, &self.cache, token))
    }
}

fn jwks_issuer(algorithms: &[&str]) -> JwtIssuer {
    compile(json!({ "algorithms": algorithms, "jwks_url": JWKS_URL, "issuer": ISS, "audience": "api" }))
}

/// An ES256 token valid for ten days (JWKS tests move the clock by hours).
fn es256_with_kid(kid: &str, private_pem: &str) -> String {
    let claims = with(good_claims(), "exp", json!(NOW + 10 * 86_400));
    mint(json!({ "alg": "ES256", "kid": kid }), claims, Algorithm::ES256, private_pem)
}

// ------------------------------------------------------------- accepted

#[test]
fn every_algorithm_family_verifies_a_valid_token() {
    let cases: [(&str, Algorithm, &str, Value); 12] = [
        ("HS256", Algorithm::HS256, SECRET, json!({ "secret": SECRET })),
        ("HS384", Algorithm::HS384, SECRET, json!({ "secret": SECRET })),
        ("HS512", Algorithm::HS512, SECRET, json!({ "secret": SECRET })),
        ("RS256", Algorithm::RS256, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("RS384", Algorithm::RS384, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("RS512", Algorithm::RS512, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("PS256", Algorithm::PS256, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("PS384", Algorithm::PS384, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("PS512", Algorithm::PS512, RSA_PRIVATE, json!({ "public_key_pem": RSA_PUBLIC })),
        ("ES256", Algorithm::ES256, EC256_PRIVATE, json!({ "public_key_pem": EC256_PUBLIC })),
        ("ES384", Algorithm::ES384, EC384_PRIVATE, json!({ "public_key_pem": EC384_PUBLIC })),
        ("EdDSA", Algorithm::EdDSA, ED25519_PRIVATE, json!({ "public_key_pem": ED25519_PUBLIC })),
    ];
    let platform = no_upstream();
    for (name, alg, private, key_source) in cases {
        let mut cfg = json!({ "algorithms": [name], "issuer": ISS, "audience": ["web", "api"] });
        for (k, v) in key_source.as_object().expect("object") {
            cfg[k] = v.clone();
        }
        let issuer = compile(cfg);
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some("ignored-for-static-keys".into());
        let token = jsonwebtoken::encode(&header, &good_claims(), &encoding_key(alg, private)).expect("encode");
        let claims = verify(&issuer, &platform, &token).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(Value::Object(claims), good_claims(), "{name}");
    }
    assert!(platform.upstream.requests().is_empty());
}

#[test]
fn tokens_minted_by_pyjwt_verify() {
    let file: Value = serde_json::from_str(PYJWT_TOKENS).expect("pyjwt_tokens.json");
    let secret = file["hs_secret"].as_str().expect("hs_secret");
    let platform = no_upstream();
    let cases = [
        ("HS256", json!({ "secret": secret })),
        ("RS256", json!({ "public_key_pem": RSA_PUBLIC })),
        ("PS256", json!({ "public_key_pem": RSA_PUBLIC })),
        ("ES256", json!({ "public_key_pem": EC256_PUBLIC })),
        ("ES384", json!({ "public_key_pem": EC384_PUBLIC })),
        ("EdDSA", json!({ "public_key_pem": ED25519_PUBLIC })),
    ];
    for (alg, key_source) in cases {
        let mut cfg = json!({ "algorithms": [alg], "issuer": ISS, "audience": "api" });
        for (k, v) in key_source.as_object().expect("object") {
            cfg[k] = v.clone();
        }
        let token = file["tokens"][alg].as_str().expect("token");
        let claims = verify(&compile(cfg), &platform, token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims["sub"], "pyjwt-user", "{alg}");
    }
}

#[test]
fn pyjwt_rs256_token_verifies_through_a_jwks() {
    let file: Value = serde_json::from_str(PYJWT_TOKENS).expect("pyjwt_tokens.json");
    let server = JwksServer::new(vec![jwk(Algorithm::RS256, RSA_PRIVATE, "rsa-1", json!({ "use": "sig" }))]);
    let issuer = jwks_issuer(&["RS256"]);
    let claims = server.verify(&issuer, file["tokens"]["RS256"].as_str().expect("token")).expect("verifies");
    assert_eq!(claims["sub"], "pyjwt-user");
}

/// A valid HS256 token of exactly `len` bytes (padded with a `pad` claim).
fn hs256_of_length(len: usize) -> String {
    let header = b64(&json!({ "alg": "HS256", "typ": "JWT" }));
    let signature_len = 43; // 32 bytes of HMAC-SHA256, base64url
    for extra in 0..3 {
        for pad in 0..len {
            let claims = with(with(good_claims(), "pad", json!("x".repeat(pad))), "sub", json!("a".repeat(1 + extra)));
            let payload = b64(&claims);
            let total = header.len() + 1 + payload.len() + 1 + signature_len;
            if total == len {
                return sign_raw(&header, &payload, Algorithm::HS256, SECRET);
            }
            if total > len {
                break;
            }
        }
    }
    panic!("no token of {len} bytes")
}

#[test]
fn token_of_exactly_8_kib_is_accepted() {
    let token = hs256_of_length(MAX_TOKEN_BYTES);
    assert_eq!(token.len(), MAX_TOKEN_BYTES);
    assert!(verify(&hs_issuer(), &no_upstream(), &token).is_ok());
}

#[test]
fn fractional_numeric_dates_are_accepted() {
    let claims = json!({ "iss": ISS, "aud": "api", "exp": NOW as f64 + 0.5, "iat": NOW as f64 - 0.25 });
    assert!(verify(&hs_issuer(), &no_upstream(), &hs256(claims)).is_ok());
}

// ------------------------------------------------------------- refused

#[test]
fn claim_checks_pin_each_refusal() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let cases: Vec<(&str, Value, Result<(), JwtError>)> = vec![
        ("valid", good_claims(), Ok(())),
        ("expired", with(good_claims(), "exp", json!(NOW - 31)), Err(JwtError::Expired)),
        ("exp_within_leeway_passes", with(good_claims(), "exp", json!(NOW - 30)), Ok(())),
        ("exp_now_passes", with(good_claims(), "exp", json!(NOW)), Ok(())),
        ("missing_exp", without(good_claims(), "exp"), Err(JwtError::MissingExp)),
        ("exp_as_string", with(good_claims(), "exp", json!("1790000300")), Err(JwtError::BadClaim("exp"))),
        ("exp_null", with(good_claims(), "exp", Value::Null), Err(JwtError::BadClaim("exp"))),
        ("nbf_future", with(good_claims(), "nbf", json!(NOW + 31)), Err(JwtError::NotYetValid)),
        ("nbf_within_leeway_passes", with(good_claims(), "nbf", json!(NOW + 30)), Ok(())),
        ("nbf_as_bool", with(good_claims(), "nbf", json!(true)), Err(JwtError::BadClaim("nbf"))),
        ("iat_future", with(good_claims(), "iat", json!(NOW + 31)), Err(JwtError::IssuedInFuture)),
        ("iat_within_leeway_passes", with(good_claims(), "iat", json!(NOW + 30)), Ok(())),
        ("missing_iss", without(good_claims(), "iss"), Err(JwtError::MissingIssuer)),
        ("wrong_iss", with(good_claims(), "iss", json!("https://evil.test/")), Err(JwtError::WrongIssuer)),
        (
            "iss_trailing_slash_differs",
            with(good_claims(), "iss", json!("https://issuer.test")),
            Err(JwtError::WrongIssuer),
        ),
        ("iss_not_string", with(good_claims(), "iss", json!(["https://issuer.test/"])), Err(JwtError::WrongIssuer)),
        ("missing_aud", without(good_claims(), "aud"), Err(JwtError::MissingAudience)),
        ("wrong_aud", with(good_claims(), "aud", json!("other")), Err(JwtError::WrongAudience)),
        ("aud_array_containing_ours_passes", with(good_claims(), "aud", json!(["other", "api"])), Ok(())),
        ("aud_array_without_ours", with(good_claims(), "aud", json!(["other", "web"])), Err(JwtError::WrongAudience)),
        ("aud_empty_array", with(good_claims(), "aud", json!([])), Err(JwtError::WrongAudience)),
        ("aud_array_with_number", with(good_claims(), "aud", json!(["api", 7])), Err(JwtError::BadClaim("aud"))),
        ("aud_case_differs", with(good_claims(), "aud", json!("API")), Err(JwtError::WrongAudience)),
    ];
    for (name, claims, expected) in cases {
        let got = verify(&issuer, &platform, &hs256(claims)).map(|_| ());
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn iss_and_aud_are_not_required_when_not_configured() {
    let issuer = compile(json!({ "algorithms": ["HS256"], "secret": SECRET }));
    let claims = json!({ "exp": NOW + 60 });
    assert!(verify(&issuer, &no_upstream(), &hs256(claims)).is_ok());
}

#[test]
fn configured_leeway_applies() {
    let issuer = compile(json!({ "algorithms": ["HS256"], "secret": SECRET, "leeway": "0s" }));
    let platform = no_upstream();
    assert_eq!(verify(&issuer, &platform, &hs256(json!({ "exp": NOW - 1 }))), Err(JwtError::Expired));
    assert!(verify(&issuer, &platform, &hs256(json!({ "exp": NOW }))).is_ok());
    // The clock moves: the same token expires.
    let token = hs256(json!({ "exp": NOW + 10 }));
    platform.clock.advance(Duration::from_secs(11));
    assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::Expired));
}

#[test]
fn alg_none_in_any_case_is_refused() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let payload = b64(&good_claims());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({ "alg": alg, "typ": "JWT" }));
        // Unsigned, as an attacker would send it: not even three segments.
        assert_eq!(verify(&issuer, &platform, &format!("{header}.{payload}.")), Err(JwtError::Malformed), "{alg}");
        // With a signature segment (an HMAC over the same bytes): still refused, on the alg.
        let token = sign_raw(&header, &payload, Algorithm::HS256, SECRET);
        assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::AlgorithmNotAllowed(alg.into())), "{alg}");
    }
}

#[test]
fn alg_outside_the_allowlist_is_refused() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let cases = [
        ("HS512_same_secret", json!({ "alg": "HS512" }), Algorithm::HS512),
        ("lowercase_hs256", json!({ "alg": "hs256" }), Algorithm::HS256),
        ("unknown_ES512", json!({ "alg": "ES512" }), Algorithm::HS256),
    ];
    for (name, header, sign_alg) in cases {
        let alg = header["alg"].as_str().expect("alg").to_owned();
        let token = mint(header, good_claims(), sign_alg, SECRET);
        assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::AlgorithmNotAllowed(alg)), "{name}");
    }
}

#[test]
fn rs256_to_hs256_confusion_with_the_public_key_as_secret_fails() {
    let platform = no_upstream();
    // The HMAC key an attacker would use: the public PEM bytes.
    let forged = mint(json!({ "alg": "HS256", "typ": "JWT" }), good_claims(), Algorithm::HS256, RSA_PUBLIC);
    let rsa_issuer =
        compile(json!({ "algorithms": ["RS256"], "public_key_pem": RSA_PUBLIC, "issuer": ISS, "audience": "api" }));
    assert_eq!(verify(&rsa_issuer, &platform, &forged), Err(JwtError::AlgorithmNotAllowed("HS256".into())));
    // Allowing HS256 next to a public key is a config error, so the confusion cannot be configured.
    let errors = compile_errors(json!({ "algorithms": ["RS256", "HS256"], "public_key_pem": RSA_PUBLIC }));
    assert!(errors.iter().any(|e| e.contains("`HS256` needs an HMAC secret")), "{errors:?}");
    // Nor through a JWKS.
    let errors = compile_errors(json!({ "algorithms": ["RS256", "HS256"], "jwks_url": JWKS_URL }));
    assert!(errors.iter().any(|e| e.contains("`HS256` needs `secret`")), "{errors:?}");
}

#[test]
fn es256_all_zero_signature_fails_cleanly() {
    let issuer = compile(json!({ "algorithms": ["ES256"], "public_key_pem": EC256_PUBLIC }));
    let platform = no_upstream();
    let message = format!("{}.{}", b64(&json!({ "alg": "ES256" })), b64(&good_claims()));
    for len in [64, 0, 1, 63, 65, 72] {
        let token = format!("{message}.{}", URL_SAFE_NO_PAD.encode(vec![0u8; len]));
        let expected = if len == 0 { JwtError::Malformed } else { JwtError::BadSignature };
        assert_eq!(verify(&issuer, &platform, &token), Err(expected), "{len} zero bytes");
    }
}

#[test]
fn wrong_key_or_tampered_token_fails_the_signature() {
    let platform = no_upstream();
    let issuer = hs_issuer();
    let other_secret =
        mint(json!({ "alg": "HS256" }), good_claims(), Algorithm::HS256, "another-secret-of-at-least-32-bytes");
    assert_eq!(verify(&issuer, &platform, &other_secret), Err(JwtError::BadSignature));

    let good = hs256(good_claims());
    let (message, signature) = good.rsplit_once('.').expect("dots");
    let (header, _) = message.split_once('.').expect("dot");
    let tampered = format!("{header}.{}.{signature}", b64(&with(good_claims(), "sub", json!("admin"))));
    assert_eq!(verify(&issuer, &platform, &tampered), Err(JwtError::BadSignature));

    let es = compile(json!({ "algorithms": ["ES256"], "public_key_pem": EC256_PUBLIC }));
    let by_other_key = mint(json!({ "alg": "ES256" }), good_claims(), Algorithm::ES256, EC256_OTHER_PRIVATE);
    assert_eq!(verify(&es, &platform, &by_other_key), Err(JwtError::BadSignature));
}

#[test]
fn embedded_jwk_header_with_attacker_key_is_ignored() {
    let attacker_jwk = jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "attacker", json!({}));
    let header = json!({ "alg": "ES256", "jwk": attacker_jwk, "kid": "attacker" });
    let forged = mint(header.clone(), good_claims(), Algorithm::ES256, EC256_OTHER_PRIVATE);

    // Static key: the configured key is used, the embedded one is not.
    let issuer = compile(json!({ "algorithms": ["ES256"], "public_key_pem": EC256_PUBLIC }));
    assert_eq!(verify(&issuer, &no_upstream(), &forged), Err(JwtError::BadSignature));

    // JWKS: the token's kid is not in the set, and the embedded key is not added.
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "ec-1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    assert_eq!(server.verify(&issuer, &forged), Err(JwtError::UnknownKid));
    // Same, with the attacker claiming the legitimate kid.
    let forged = mint(with(header, "kid", json!("ec-1")), good_claims(), Algorithm::ES256, EC256_OTHER_PRIVATE);
    assert_eq!(server.verify(&issuer, &forged), Err(JwtError::BadSignature));
}

#[test]
fn jku_and_x5u_headers_are_never_fetched() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "ec-1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    let cases = [
        ("jku", json!({ "alg": "ES256", "kid": "attacker", "jku": "https://attacker.test/jwks.json" })),
        ("x5u", json!({ "alg": "ES256", "kid": "attacker", "x5u": "https://attacker.test/cert.pem" })),
        ("jku_with_known_kid", json!({ "alg": "ES256", "kid": "ec-1", "jku": "https://attacker.test/jwks.json" })),
        ("x5c", json!({ "alg": "ES256", "kid": "ec-1", "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] })),
    ];
    for (name, header) in cases {
        let forged = mint(header, good_claims(), Algorithm::ES256, EC256_OTHER_PRIVATE);
        assert!(server.verify(&issuer, &forged).is_err(), "{name}");
    }
    let requests = server.platform.upstream.requests();
    assert!(requests.iter().all(|r| r.uri() == JWKS_URL), "only the configured JWKS was fetched");
    assert!(!requests.iter().any(|r| r.uri().host() == Some("attacker.test")));
    // A legitimate token with a jku header still verifies (the header is ignored).
    let token = mint(
        json!({ "alg": "ES256", "kid": "ec-1", "jku": "https://attacker.test/jwks.json" }),
        good_claims(),
        Algorithm::ES256,
        EC256_PRIVATE,
    );
    assert!(server.verify(&issuer, &token).is_ok());
}

#[test]
fn kid_traversal_strings_only_fail_to_match() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "ec-1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    for kid in ["../../etc/passwd", "ec-1/../ec-1", "ec-1\u{0}", "/dev/null", "", " ec-1", "EC-1", "%2e%2e%2f"] {
        let token = es256_with_kid(kid, EC256_PRIVATE);
        assert_eq!(server.verify(&issuer, &token), Err(JwtError::UnknownKid), "{kid:?}");
    }
    assert!(server.platform.upstream.requests().iter().all(|r| r.uri() == JWKS_URL));
}

#[test]
fn crit_header_is_rejected() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("exp"), Value::Null] {
        let token = mint(json!({ "alg": "HS256", "crit": crit, "exp": NOW }), good_claims(), Algorithm::HS256, SECRET);
        assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::CriticalHeader), "{crit}");
    }
}

/// Found by fuzzing (fuzz/artifacts-found/jwt-header-invalid-utf8): a
/// signed header whose ignored members are not UTF-8 verified.
#[test]
fn a_header_that_is_not_utf8_json_is_refused_even_in_ignored_members() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let payload = b64(&good_claims());
    for raw in [
        &b"{\"alg\":\"HS256\",\"typ\":\"\xff\"}"[..],
        &b"{\"alg\":\"HS256\",\"x\":[\"\xc3\x28\"]}"[..],
        &b"{\"alg\":\"HS256\",\"cty\":\"\xed\xa0\x80\"}"[..],
    ] {
        let header = URL_SAFE_NO_PAD.encode(raw);
        let token = sign_raw(&header, &payload, Algorithm::HS256, SECRET);
        assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::BadHeader), "{}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn token_over_8_kib_is_refused_before_decoding() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let token = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(verify(&issuer, &platform, &token), Err(JwtError::TooLong));
    // A validly signed token one byte over the limit.
    let signed = hs256_of_length(MAX_TOKEN_BYTES + 1);
    assert_eq!(verify(&issuer, &platform, &signed), Err(JwtError::TooLong));
}

#[test]
fn malformed_tokens_are_refused_by_shape() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let good = hs256(good_claims());
    let (h, rest) = good.split_once('.').expect("dot");
    let (p, s) = rest.split_once('.').expect("dot");
    let cases: Vec<(&str, String, JwtError)> = vec![
        ("empty", String::new(), JwtError::Malformed),
        ("two_dots_missing", h.to_owned(), JwtError::Malformed),
        ("one_dot_missing", format!("{h}.{p}"), JwtError::Malformed),
        ("four_segments", format!("{good}.{s}"), JwtError::Malformed),
        ("empty_payload", format!("{h}..{s}"), JwtError::Malformed),
        ("padding", format!("{h}=.{p}.{s}"), JwtError::Malformed),
        ("standard_alphabet", format!("{h}.{p}.{}", s.replace('_', "/").replace('-', "+") + "+/"), JwtError::Malformed),
        ("whitespace", format!("{good} "), JwtError::Malformed),
        ("bearer_prefix_left_in", format!("Bearer {good}"), JwtError::Malformed),
        ("header_bad_length", format!("A.{p}.{s}"), JwtError::BadHeader),
        ("header_not_json", format!("{}.{p}.{s}", URL_SAFE_NO_PAD.encode("alg=HS256")), JwtError::BadHeader),
        ("header_json_array", format!("{}.{p}.{s}", b64(&json!(["HS256"]))), JwtError::BadHeader),
        ("header_without_alg", format!("{}.{p}.{s}", b64(&json!({ "typ": "JWT" }))), JwtError::BadHeader),
        ("header_alg_not_string", format!("{}.{p}.{s}", b64(&json!({ "alg": 256 }))), JwtError::BadHeader),
        (
            "header_kid_not_string",
            format!("{}.{p}.{s}", b64(&json!({ "alg": "HS256", "kid": 1 }))),
            JwtError::BadHeader,
        ),
        (
            "header_duplicate_alg",
            format!("{}.{p}.{s}", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","alg":"none"}"#)),
            JwtError::BadHeader,
        ),
        ("signature_bad_length", format!("{h}.{p}.A"), JwtError::Malformed),
    ];
    for (name, token, expected) in cases {
        assert_eq!(verify(&issuer, &platform, &token), Err(expected), "{name}");
    }
}

#[test]
fn payload_must_be_base64url_json_object() {
    let issuer = hs_issuer();
    let platform = no_upstream();
    let header = b64(&json!({ "alg": "HS256" }));
    let cases = [
        ("claims_json_array", b64(&json!([{ "exp": NOW + 60 }])), JwtError::ClaimsNotObject),
        ("claims_json_string", b64(&json!("exp")), JwtError::ClaimsNotObject),
        ("claims_not_json", URL_SAFE_NO_PAD.encode("exp=1"), JwtError::BadPayload),
        ("malformed_base64_payload", "A".to_owned(), JwtError::BadPayload),
    ];
    for (name, payload, expected) in cases {
        let token = sign_raw(&header, &payload, Algorithm::HS256, SECRET);
        assert_eq!(verify(&issuer, &platform, &token), Err(expected), "{name}");
    }
}

#[test]
fn key_type_comes_from_the_key_not_the_token() {
    // A JWKS holding only an RSA key under kid "k": an ES256 token naming it
    // finds no suitable key, whatever it claims.
    let server = JwksServer::new(vec![jwk(Algorithm::RS256, RSA_PRIVATE, "k", json!({}))]);
    let issuer = jwks_issuer(&["RS256", "ES256"]);
    let token = es256_with_kid("k", EC256_PRIVATE);
    assert_eq!(server.verify(&issuer, &token), Err(JwtError::NoSuitableKey));
    // A JWK's own alg binds the token alg: a PS256 token against an RS256-only key.
    let server =
        JwksServer::new(vec![jwk(Algorithm::RS256, RSA_PRIVATE, "k", json!({ "alg": "RS256", "use": "sig" }))]);
    let issuer = jwks_issuer(&["RS256", "PS256"]);
    let ps = mint(json!({ "alg": "PS256", "kid": "k" }), good_claims(), Algorithm::PS256, RSA_PRIVATE);
    assert_eq!(server.verify(&issuer, &ps), Err(JwtError::NoSuitableKey));
    let rs = mint(json!({ "alg": "RS256", "kid": "k" }), good_claims(), Algorithm::RS256, RSA_PRIVATE);
    assert!(server.verify(&issuer, &rs).is_ok());
    // Static PEM: ES256 token against an RSA public key issuer is refused by the allowlist.
    let issuer = compile(json!({ "algorithms": ["RS256"], "public_key_pem": RSA_PUBLIC }));
    let es = mint(json!({ "alg": "ES256" }), good_claims(), Algorithm::ES256, EC256_PRIVATE);
    assert_eq!(verify(&issuer, &no_upstream(), &es), Err(JwtError::AlgorithmNotAllowed("ES256".into())));
}

#[test]
fn token_without_kid_tries_every_key_of_the_right_type() {
    let server = JwksServer::new(vec![
        jwk(Algorithm::RS256, RSA_OTHER_PRIVATE, "r", json!({})),
        jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "a", json!({})),
        jwk(Algorithm::ES256, EC256_PRIVATE, "b", json!({})),
    ]);
    let issuer = jwks_issuer(&["ES256", "RS256"]);
    let token = mint(json!({ "alg": "ES256" }), good_claims(), Algorithm::ES256, EC256_PRIVATE);
    assert!(server.verify(&issuer, &token).is_ok());
    let unknown = mint(json!({ "alg": "ES256" }), good_claims(), Algorithm::ES256, EC256_OTHER_PRIVATE);
    assert!(server.verify(&issuer, &unknown).is_ok(), "the other EC key is in the set too");
    let rsa = mint(json!({ "alg": "RS256" }), good_claims(), Algorithm::RS256, RSA_PRIVATE);
    assert_eq!(server.verify(&issuer, &rsa), Err(JwtError::BadSignature));
    assert_eq!(server.requests(), 1, "no kid: no refresh");
}

// ------------------------------------------------------------------ JWKS

#[test]
fn jwks_first_fetch() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "ec-1", json!({ "use": "sig" }))]);
    let issuer = jwks_issuer(&["ES256"]);
    let claims = server.verify(&issuer, &es256_with_kid("ec-1", EC256_PRIVATE)).expect("verifies");
    assert_eq!(claims["sub"], "alice");
    let requests = server.platform.upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method(), http::Method::GET);
    assert_eq!(requests[0].uri(), JWKS_URL);
    assert_eq!(requests[0].headers()[http::header::ACCEPT], "application/json");
    // Cached: more tokens, no more requests.
    for _ in 0..10 {
        assert!(server.verify(&issuer, &es256_with_kid("ec-1", EC256_PRIVATE)).is_ok());
    }
    assert_eq!(server.requests(), 1);
}

#[test]
fn jwks_all_families() {
    let server = JwksServer::new(vec![
        jwk(Algorithm::RS256, RSA_PRIVATE, "rsa", json!({})),
        jwk(Algorithm::ES256, EC256_PRIVATE, "p256", json!({})),
        jwk(Algorithm::ES384, EC384_PRIVATE, "p384", json!({})),
        jwk(Algorithm::EdDSA, ED25519_PRIVATE, "ed", json!({})),
    ]);
    let issuer = jwks_issuer(&["RS256", "PS384", "ES256", "ES384", "EdDSA"]);
    let cases = [
        ("rsa", Algorithm::RS256, RSA_PRIVATE),
        ("rsa", Algorithm::PS384, RSA_PRIVATE),
        ("p256", Algorithm::ES256, EC256_PRIVATE),
        ("p384", Algorithm::ES384, EC384_PRIVATE),
        ("ed", Algorithm::EdDSA, ED25519_PRIVATE),
    ];
    for (kid, alg, private) in cases {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(kid.into());
        let token = jsonwebtoken::encode(&header, &good_claims(), &encoding_key(alg, private)).expect("encode");
        assert!(server.verify(&issuer, &token).is_ok(), "{kid} {alg:?}");
    }
    assert_eq!(server.requests(), 1);
}

#[test]
fn jwks_kid_rotation_is_picked_up_after_the_minute() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok());
    assert_eq!(server.requests(), 1);

    // A token with a kid the issuer has not published yet: one refresh (the
    // first fetch does not count against the limit), still unknown.
    server.advance(1);
    let k2 = es256_with_kid("k2", EC256_OTHER_PRIVATE);
    assert_eq!(server.verify(&issuer, &k2), Err(JwtError::UnknownKid));
    assert_eq!(server.requests(), 2);

    // The issuer rotates. Within the minute, no new refresh.
    server.set(Endpoint::Serve {
        keys: vec![jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "k2", json!({}))],
        cache_control: None,
    });
    server.advance(30);
    assert_eq!(server.verify(&issuer, &k2), Err(JwtError::UnknownKid));
    assert_eq!(server.requests(), 2);

    // Once the minute has passed, the unknown kid refreshes and is found.
    server.advance(30);
    assert!(server.verify(&issuer, &k2).is_ok());
    assert_eq!(server.requests(), 3);
    // The old key is gone with the rotation.
    assert_eq!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)), Err(JwtError::UnknownKid));
    assert_eq!(server.requests(), 3);
}

#[test]
fn jwks_refresh_at_most_once_a_minute_on_unknown_kids() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok());
    for i in 0..200 {
        let token = es256_with_kid(&format!("unknown-{i}"), EC256_PRIVATE);
        assert_eq!(server.verify(&issuer, &token), Err(JwtError::UnknownKid));
        if i % 10 == 0 {
            server.advance(1);
        }
    }
    // 20 s passed: the first fetch plus one refresh.
    assert_eq!(server.requests(), 2);
    server.advance(REFRESH_INTERVAL.as_secs());
    for i in 0..50 {
        let _ = server.verify(&issuer, &es256_with_kid(&format!("again-{i}"), EC256_PRIVATE));
    }
    assert_eq!(server.requests(), 3);
    // Known kids keep verifying throughout.
    assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok());
}

#[test]
fn jwks_endpoint_down_keeps_the_last_good_keys() {
    let failures = [
        ("connect_error", Endpoint::Down),
        ("timeout", Endpoint::Hang),
        ("status_500", Endpoint::Status(500)),
        ("status_404", Endpoint::Status(404)),
        ("bad_json", Endpoint::Body("{\"keys\": [")),
        ("not_a_key_set", Endpoint::Body("{\"kty\": \"RSA\"}")),
        (
            "no_usable_keys",
            Endpoint::Serve { keys: vec![json!({ "kty": "oct", "k": "c2VjcmV0" })], cache_control: None },
        ),
    ];
    for (name, failure) in failures {
        let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))]);
        let issuer = jwks_issuer(&["ES256"]);
        assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok(), "{name}");
        server.set(failure);
        // Past the TTL: a refresh is attempted, fails, and the old keys stay.
        server.advance(DEFAULT_TTL.as_secs() + 1);
        assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok(), "{name}");
        assert_eq!(server.requests(), 2, "{name}");
        // Unknown kids do not hammer the dead endpoint either.
        for _ in 0..5 {
            assert_eq!(server.verify(&issuer, &es256_with_kid("k9", EC256_PRIVATE)), Err(JwtError::UnknownKid));
        }
        assert_eq!(server.requests(), 2, "{name}");
        // A minute later it is tried again; still down, still verifying.
        server.advance(REFRESH_INTERVAL.as_secs());
        assert!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)).is_ok(), "{name}");
        assert_eq!(server.requests(), 3, "{name}");
    }
}

#[test]
fn jwks_never_fetched_fails_with_no_keys_and_backs_off() {
    let server = JwksServer::with_endpoint(Endpoint::Status(503));
    let issuer = jwks_issuer(&["ES256"]);
    let token = es256_with_kid("k1", EC256_PRIVATE);
    assert_eq!(server.verify(&issuer, &token), Err(JwtError::NoKeys));
    assert_eq!(server.requests(), 1);
    // Right after a failure, requests fail fast without calling the endpoint.
    assert_eq!(server.verify(&issuer, &token), Err(JwtError::NoKeys));
    assert_eq!(server.requests(), 1);
    // The endpoint recovers; after the short back-off the keys arrive.
    server.set(Endpoint::Serve {
        keys: vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))],
        cache_control: None,
    });
    server.advance(EMPTY_RETRY.as_secs());
    assert!(server.verify(&issuer, &token).is_ok());
    assert_eq!(server.requests(), 2);
}

#[test]
fn jwks_fetch_timeout_leaves_no_keys() {
    let server = JwksServer::with_endpoint(Endpoint::Hang);
    let issuer = jwks_issuer(&["ES256"]);
    let before = server.platform.clock.now();
    assert_eq!(server.verify(&issuer, &es256_with_kid("k1", EC256_PRIVATE)), Err(JwtError::NoKeys));
    assert_eq!(server.platform.clock.now().since(before), jwks::FETCH_TIMEOUT, "the 2 s deadline fired");
}

#[test]
fn jwks_cache_control_max_age_is_honoured_and_clamped() {
    // (Cache-Control, seconds after which the next request refreshes)
    let cases: [(Option<&'static str>, u64); 7] = [
        (None, DEFAULT_TTL.as_secs()),
        (Some("public, max-age=600"), 600),
        (Some("max-age=5"), MIN_TTL.as_secs()),
        (Some("max-age=0, must-revalidate"), MIN_TTL.as_secs()),
        (Some("no-store"), MIN_TTL.as_secs()),
        (Some("max-age=31536000"), MAX_TTL.as_secs()),
        (Some("max-age=banana"), DEFAULT_TTL.as_secs()),
    ];
    for (cache_control, ttl) in cases {
        let keys = vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))];
        let server = JwksServer::with_endpoint(Endpoint::Serve { keys, cache_control });
        let issuer = jwks_issuer(&["ES256"]);
        let token = es256_with_kid("k1", EC256_PRIVATE);
        assert!(server.verify(&issuer, &token).is_ok());
        server.advance(ttl - 1);
        assert!(server.verify(&issuer, &token).is_ok());
        assert_eq!(server.requests(), 1, "{cache_control:?}: still fresh at {}s", ttl - 1);
        server.advance(1);
        assert!(server.verify(&issuer, &token).is_ok());
        assert_eq!(server.requests(), 2, "{cache_control:?}: refreshed at {ttl}s");
    }
}

#[test]
fn cache_ttl_parses_directives() {
    let ttl = |values: &[&str]| {
        let mut headers = http::HeaderMap::new();
        for v in values {
            headers.append(http::header::CACHE_CONTROL, v.parse().expect("header"));
        }
        jwks::cache_ttl(&headers)
    };
    assert_eq!(ttl(&[]), DEFAULT_TTL);
    assert_eq!(ttl(&["MAX-AGE=120"]), Duration::from_secs(120));
    assert_eq!(ttl(&["max-age=\"900\""]), Duration::from_secs(900));
    assert_eq!(ttl(&["public", "max-age=3600"]), Duration::from_secs(3600));
    assert_eq!(ttl(&["max-age=3600, max-age=120"]), Duration::from_secs(120));
    assert_eq!(ttl(&["s-maxage=900"]), DEFAULT_TTL);
    assert_eq!(ttl(&["max-age=-5"]), DEFAULT_TTL);
    assert_eq!(ttl(&["no-cache, max-age=900"]), MIN_TTL);
}

#[test]
fn jwks_keys_for_other_uses_are_skipped() {
    let server = JwksServer::new(vec![
        jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "enc-1", json!({ "use": "enc" })),
        jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "ops", json!({ "key_ops": ["encrypt"] })),
        jwk(Algorithm::ES256, EC256_OTHER_PRIVATE, "oaep", json!({ "alg": "RSA-OAEP" })),
        jwk(Algorithm::ES256, EC256_PRIVATE, "sig-1", json!({ "use": "sig", "key_ops": ["verify"] })),
    ]);
    let issuer = jwks_issuer(&["ES256"]);
    assert!(server.verify(&issuer, &es256_with_kid("sig-1", EC256_PRIVATE)).is_ok());
    for kid in ["enc-1", "ops", "oaep"] {
        assert_eq!(
            server.verify(&issuer, &es256_with_kid(kid, EC256_OTHER_PRIVATE)),
            Err(JwtError::UnknownKid),
            "{kid}"
        );
    }
    // A document with only encryption keys is no key set at all.
    let only_enc = jwks::parse_jwks(
        json!({ "keys": [jwk(Algorithm::ES256, EC256_PRIVATE, "e", json!({ "use": "enc" }))] }).to_string().as_bytes(),
    );
    assert!(only_enc.is_err());
}

#[test]
fn jwks_parsing_keeps_only_sound_signature_keys() {
    let rsa = jwk(Algorithm::RS256, RSA_PRIVATE, "rsa", json!({}));
    let ec = jwk(Algorithm::ES256, EC256_PRIVATE, "ec", json!({}));
    let mut off_curve = ec.clone();
    off_curve["kid"] = json!("off-curve");
    off_curve["y"] = off_curve["x"].clone();
    let mut short_rsa = rsa.clone();
    short_rsa["kid"] = json!("short");
    short_rsa["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
    let doc = json!({ "keys": [
        rsa,
        ec,
        off_curve,
        short_rsa,
        { "kty": "oct", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(SECRET) },
        { "kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA" },
        { "kty": "OKP", "crv": "X25519", "kid": "x25519", "x": URL_SAFE_NO_PAD.encode([9u8; 32]) },
        { "kty": "RSA", "kid": "no-n", "e": "AQAB" },
        { "kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB" },
        "not an object",
        { "kty": "EC", "crv": "P-256", "kid": "rsa-alg-on-ec", "alg": "RS256", "x": "AA", "y": "AA" },
    ]});
    let keys = jwks::parse_jwks(doc.to_string().as_bytes()).expect("two usable keys");
    let kids: Vec<_> = keys.iter().map(|k| k.kid.clone().unwrap_or_default()).collect();
    assert_eq!(kids, ["rsa", "ec"]);
    assert!(jwks::parse_jwks(b"[]").is_err());
    assert!(jwks::parse_jwks(b"{\"keys\": []}").is_err());
}

#[test]
fn jwks_unknown_kid_right_after_the_first_fetch_does_not_fetch_twice() {
    let server = JwksServer::new(vec![jwk(Algorithm::ES256, EC256_PRIVATE, "k1", json!({}))]);
    let issuer = jwks_issuer(&["ES256"]);
    assert_eq!(server.verify(&issuer, &es256_with_kid("nope", EC256_PRIVATE)), Err(JwtError::UnknownKid));
    assert_eq!(server.requests(), 1, "the keys were fetched for this very token");
}

// --------------------------------------------------------------- compile

#[test]
fn compile_reports_each_config_problem() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no_algorithms", json!({ "algorithms": [], "secret": SECRET }), "at least one algorithm"),
        ("alg_none", json!({ "algorithms": ["none"], "secret": SECRET }), "`none` is never accepted"),
        ("alg_unknown", json!({ "algorithms": ["HS257"], "secret": SECRET }), "`HS257` is not a supported algorithm"),
        ("alg_lowercase", json!({ "algorithms": ["rs256"], "jwks_url": JWKS_URL }), "`rs256` is not a supported"),
        ("no_key", json!({ "algorithms": ["HS256"] }), "a key is required"),
        (
            "two_keys",
            json!({ "algorithms": ["HS256"], "secret": SECRET, "jwks_url": JWKS_URL }),
            "exactly one of `secret`, `public_key_pem` or `jwks_url` (found secret and jwks_url)",
        ),
        ("secret_with_rs256", json!({ "algorithms": ["RS256"], "secret": SECRET }), "`RS256` needs a public key"),
        ("short_secret", json!({ "algorithms": ["HS256"], "secret": "s3cret" }), "at least 32 bytes"),
        (
            "pem_alg_mismatch",
            json!({ "algorithms": ["ES256"], "public_key_pem": RSA_PUBLIC }),
            "`ES256` needs an EC P-256 key, but `public_key_pem` is an RSA key",
        ),
        (
            "pem_curve_mismatch",
            json!({ "algorithms": ["ES384"], "public_key_pem": EC256_PUBLIC }),
            "`ES384` needs an EC P-384 key",
        ),
        ("pem_private", json!({ "algorithms": ["RS256"], "public_key_pem": RSA_PRIVATE }), "holds a private key"),
        ("pem_garbage", json!({ "algorithms": ["RS256"], "public_key_pem": "hello" }), "is not PEM"),
        (
            "pem_bad_body",
            json!({ "algorithms": ["RS256"], "public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }),
            "not an RSA, EC (P-256/P-384) or Ed25519 public key",
        ),
        ("jwks_hs", json!({ "algorithms": ["HS256"], "jwks_url": JWKS_URL }), "a JWKS never provides HMAC secrets"),
        ("jwks_http", json!({ "algorithms": ["RS256"], "jwks_url": "http://auth.example.com/jwks" }), "must use https"),
        (
            "jwks_http_private_ip",
            json!({ "algorithms": ["RS256"], "jwks_url": "http://10.0.0.1/jwks" }),
            "must use https",
        ),
        (
            "jwks_http_localhost_lookalike",
            json!({ "algorithms": ["RS256"], "jwks_url": "http://localhost.evil.test/jwks" }),
            "must use https",
        ),
        ("jwks_relative", json!({ "algorithms": ["RS256"], "jwks_url": "/jwks.json" }), "not a valid absolute URL"),
        ("jwks_ftp", json!({ "algorithms": ["RS256"], "jwks_url": "ftp://issuer.test/jwks" }), "must be an https URL"),
        (
            "leeway_too_long",
            json!({ "algorithms": ["HS256"], "secret": SECRET, "leeway": "10m" }),
            "`leeway` is at most 300s",
        ),
        ("empty_issuer", json!({ "algorithms": ["HS256"], "secret": SECRET, "issuer": "" }), "`issuer` is empty"),
        ("empty_audience", json!({ "algorithms": ["HS256"], "secret": SECRET, "audience": [] }), "lists no audience"),
    ];
    for (name, cfg, expected) in cases {
        let errors = compile_errors(cfg);
        assert!(errors.iter().any(|e| e.contains(expected)), "{name}: {errors:?}");
    }
}

#[test]
fn compile_reports_every_problem_at_once() {
    let errors = compile_errors(json!({ "algorithms": ["none", "RS256"], "secret": "short", "leeway": "1h" }));
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn compile_accepts_loopback_http_jwks_and_pem_variants() {
    for url in [
        "http://127.0.0.1:8080/jwks.json",
        "http://127.1.2.3/jwks",
        "http://localhost:9000/jwks",
        "http://LOCALHOST/jwks",
        "http://[::1]:9000/jwks",
        "https://auth.example.com/.well-known/jwks.json",
    ] {
        assert!(
            JwtIssuer::compile("main", &config(json!({ "algorithms": ["RS256"], "jwks_url": url }))).is_ok(),
            "{url}"
        );
    }
    // A PEM passed through an environment variable with literal \n.
    let escaped = RSA_PUBLIC.trim_end().replace('\n', "\\n");
    assert!(
        JwtIssuer::compile("main", &config(json!({ "algorithms": ["RS256", "PS512"], "public_key_pem": escaped })))
            .is_ok()
    );
    // PKCS#1 `RSA PUBLIC KEY` is accepted too.
    let pkcs1 = pkcs1_from_spki(RSA_PUBLIC);
    assert!(JwtIssuer::compile("main", &config(json!({ "algorithms": ["RS256"], "public_key_pem": pkcs1 }))).is_ok());
    // Duplicated algorithms are harmless.
    assert!(JwtIssuer::compile("main", &config(json!({ "algorithms": ["HS256", "HS256"], "secret": SECRET }))).is_ok());
}

/// Rewraps an RSA SPKI PEM as PKCS#1 (`RSA PUBLIC KEY`): the SPKI DER ends
/// with the PKCS#1 structure inside a BIT STRING (2048-bit keys: 24 bytes of prefix).
fn pkcs1_from_spki(spki_pem: &str) -> String {
    let body: String = spki_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).expect("pem body");
    let pkcs1 = &der[24..];
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs1);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
    format!("-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n", lines.join("\n"))
}

// ----------------------------------------------------------------- types

#[test]
fn issuer_is_send_and_sync_and_verify_future_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<JwtIssuer>();
    let issuer = hs_issuer();
    let platform = no_upstream();
    let cache = JwksCache::default();
    let future = issuer.verify(&platform, &cache, "a.b.c");
    send(&future);
    drop(future);
}

#[test]
fn error_display_never_echoes_the_token() {
    let issuer = hs_issuer();
    let token = hs256(with(good_claims(), "exp", json!(NOW - 3600)));
    let err = verify(&issuer, &no_upstream(), &token).expect_err("expired");
    let text = err.to_string();
    assert!(!text.contains(&token[..20]));
    assert_eq!(text, "token expired");
    // A hostile alg is escaped and truncated.
    let long_alg = "\u{1b}[31mnone-with-a-very-long-name";
    let forged = mint(json!({ "alg": long_alg }), good_claims(), Algorithm::HS256, SECRET);
    let err = verify(&issuer, &no_upstream(), &forged).expect_err("refused");
    assert_eq!(err, JwtError::AlgorithmNotAllowed("?[31mnone-with-a…".into()));
}
