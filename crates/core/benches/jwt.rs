//! Cost of JWT verification per request, without sockets: the same request
//! through the core pipeline on a public route and on routes guarded by an
//! HS256 and an RS256 (2048-bit) issuer, on a `MemoryPlatform` with its
//! manual clock. The difference is what `JwtIssuer::verify` adds (header,
//! allowlist, key selection, signature, claims); the bare signature checks
//! are measured too. `cargo bench -p tollgate-core --bench jwt`.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_executor::block_on;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use std::hint::black_box;
use tollgate_core::platform::Timestamp;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, load};

const RSA_PRIVATE: &str = include_str!("../tests/data/jwt/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../tests/data/jwt/rsa_public.pem");
const SECRET: &str = "bench-secret-of-at-least-32-bytes-long";
/// The manual clock of `MemoryPlatform::new` (seconds).
const NOW: u64 = 1_790_000_000;

fn config() -> String {
    let pem = RSA_PUBLIC.trim_end().replace('\n', "\\n");
    format!(
        r#"
version: 1
upstreams:
  users: {{ targets: [ {{ url: "http://127.0.0.1:9001" }} ] }}
auth:
  jwt:
    hs: {{ algorithms: [HS256], secret: "{SECRET}", issuer: "https://issuer.test/", audience: [api] }}
    rs: {{ algorithms: [RS256], public_key_pem: "{pem}", issuer: "https://issuer.test/", audience: [api] }}
routes:
  - {{ id: public, path: "/public/{{id}}", methods: [GET], upstream: users }}
  - {{ id: hs, path: "/hs/{{id}}", methods: [GET], upstream: users, auth: ["jwt:hs"] }}
  - {{ id: rs, path: "/rs/{{id}}", methods: [GET], upstream: users, auth: ["jwt:rs"] }}
"#
    )
}

fn claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "acme-service", "iss": "https://issuer.test/", "aud": "api", "scope": "users:read",
        "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 3600,
    })
}

fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some("bench-1".into());
    jsonwebtoken::encode(&header, &claims(), key).expect("token")
}

fn bench(c: &mut Criterion) {
    let gateway = load("bench.yaml", &config(), &|_| None).expect("config");
    let upstream = ScriptedUpstream::new(|_| {
        let resp = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Bytes::from_static(b"{\"id\":42}"))
            .expect("response");
        Script::Respond(resp)
    })
    .without_recording();
    let platform = MemoryPlatform::new(upstream);
    let start = Timestamp(NOW * 1_000_000);
    let client = ClientInfo { peer_ip: Some("192.0.2.1".parse().expect("ip")), https: false, host: None };

    let hs_key = EncodingKey::from_secret(SECRET.as_bytes()).expect("hmac key");
    let rs_key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("rsa key");
    let hs = token(Algorithm::HS256, &hs_key);
    let rs = token(Algorithm::RS256, &rs_key);

    let request = |path: &str, token: Option<&str>| {
        let mut req = http::Request::builder().method("GET").uri(path).header("host", "api.example.com");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.body(Bytes::new()).expect("request")
    };
    // Sanity: every route answers 200 with its token.
    for (path, t) in [("/public/42", None), ("/hs/42", Some(hs.as_str())), ("/rs/42", Some(rs.as_str()))] {
        platform.clock.set(start);
        let status = block_on(gateway.handle(&platform, request(path, t), client.clone())).status();
        assert_eq!(status, 200, "{path}");
    }

    let mut group = c.benchmark_group("jwt");
    for (name, path, t) in [
        ("pipeline, public route (baseline)", "/public/42", None),
        ("pipeline + verify HS256", "/hs/42", Some(hs.as_str())),
        ("pipeline + verify RS256 (2048-bit)", "/rs/42", Some(rs.as_str())),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                // The pipeline's deadline moves the manual clock: keep the token valid.
                platform.clock.set(start);
                let resp = block_on(gateway.handle(&platform, black_box(request(path, t)), client.clone()));
                black_box(resp.status())
            })
        });
    }

    // The bare signature checks, for scale.
    let hs_dec = DecodingKey::from_secret(SECRET.as_bytes()).expect("hmac key");
    let rs_dec = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).expect("rsa key");
    for (name, tok, key, alg) in [
        ("signature only HS256", &hs, &hs_dec, Algorithm::HS256),
        ("signature only RS256", &rs, &rs_dec, Algorithm::RS256),
    ] {
        let (message, signature) = tok.rsplit_once('.').expect("three segments");
        group.bench_function(name, |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(black_box(signature), message.as_bytes(), key, alg).expect("verifies")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
