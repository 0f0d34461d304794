//! Cost of the core pipeline per request, without sockets: normalise, match,
//! transform headers and query, forward to an in-memory upstream, clean the
//! answer; and the same route on an upstream of three weighted targets with
//! a retry policy and a circuit breaker (the bookkeeping of balancing,
//! breakers and the retry budget on the happy path).
//! `cargo bench -p tollgate-core --bench pipeline`.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_executor::block_on;
use std::hint::black_box;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, load};

const CONFIG: &str = r#"
version: 1
cors: { allow_origins: ["https://app.example.com"], expose_headers: [x-request-id] }
upstreams:
  users: { targets: [ { url: "http://127.0.0.1:9001" } ] }
routes:
  - { id: health, path: /healthz, upstream: users }
  - { id: orders, path: "/v1/orders/{id}", upstream: users }
  - id: users.get
    path: /v1/users/{id}
    methods: [GET]
    upstream: users
    rewrite: /internal/users/{id}
    request: { headers: { set: { x-source: gateway }, remove: [cookie] }, query: { set: { src: gw }, remove: [debug] } }
    response: { headers: { set: { x-served-by: tollgate }, remove: [server] } }
  - { id: catchall, path: "/static/{*rest}", upstream: users }
"#;

/// The same upstream with three weighted targets and a breaker, and with
/// `retries` when `retries` is set.
fn balanced_config(retries: bool) -> String {
    let policy = if retries { "\n    retries: { attempts: 2, backoff: 50ms }" } else { "" };
    CONFIG.replace(
        r#"users: { targets: [ { url: "http://127.0.0.1:9001" } ] }"#,
        &format!(
            r#"users:
    targets: [ {{ url: "http://127.0.0.1:9001", weight: 300 }}, {{ url: "http://127.0.0.1:9002" }}, {{ url: "http://127.0.0.1:9003" }} ]
    balance: weighted_round_robin
    circuit_breaker: {{ failures: 5, open_for: 30s }}{policy}"#
        ),
    )
}

fn bench(c: &mut Criterion) {
    for (name, config) in [
        ("pipeline: route + transforms + forward (in-memory upstream)", CONFIG.to_owned()),
        ("pipeline: the same, 3 weighted targets + breaker", balanced_config(false)),
        ("pipeline: the same, 3 weighted targets + breaker + retries", balanced_config(true)),
    ] {
        run(c, name, &config);
    }
}

fn run(c: &mut Criterion, name: &str, config: &str) {
    assert!(config.contains("users"), "bench config");
    let gateway = load("bench.yaml", config, &|_| None).expect("config");
    let upstream = ScriptedUpstream::new(|_| {
        let resp = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("server", "backend")
            .body(Bytes::from_static(b"{\"id\":42,\"name\":\"Ada\"}"))
            .expect("response");
        Script::Respond(resp)
    })
    .without_recording();
    let platform = MemoryPlatform::new(upstream);
    let client = ClientInfo { peer_ip: Some("192.0.2.1".parse().expect("ip")), https: false, host: None };
    c.bench_function(name, |b| {
        b.iter(|| {
            let req = http::Request::builder()
                .method("GET")
                .uri("/v1/users/42?lang=en&debug=1")
                .header("host", "api.example.com")
                .header("origin", "https://app.example.com")
                .header("user-agent", "bench/1")
                .header("accept", "application/json")
                .header("cookie", "a=b")
                .body(Bytes::new())
                .expect("request");
            let resp = block_on(gateway.handle(&platform, black_box(req), client.clone()));
            black_box(resp.status())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
