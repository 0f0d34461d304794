//! Cost of rate limiting on the memory store: one `acquire` on its own, and
//! a whole request through a route with a limit against the same request
//! through the same route without one (the difference is what a check adds).
//! `cargo bench -p tollgate-core --bench limit`.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_executor::block_on;
use std::hint::black_box;
use tollgate_core::limit::Limit;
use tollgate_core::platform::memory::{MemoryLimiter, MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::platform::{LimiterStore, Timestamp};
use tollgate_core::{ClientInfo, load};

const CONFIG: &str = r#"
version: 1
upstreams:
  users: { targets: [ { url: "http://127.0.0.1:9001" } ] }
routes:
  - { id: plain, path: "/plain/{id}", upstream: users }
  - { id: limited, path: "/limited/{id}", upstream: users, rate_limit: { requests: 1000000000, per: 1s, key: ip } }
"#;

fn bench(c: &mut Criterion) {
    let store = MemoryLimiter::default();
    let limit = Limit::Rate { limit: 1_000_000_000, period_us: 1_000_000 };
    let mut now = 1_790_000_000_000_000u64;
    c.bench_function("limit: memory store acquire (GCRA)", |b| {
        b.iter(|| {
            now += 1;
            let d = block_on(store.acquire(black_box("rl:route:limited:ip:192.0.2.1"), &limit, 1, Timestamp(now)));
            black_box(d.map(|d| d.admitted))
        })
    });

    let gateway = load("bench.yaml", CONFIG, &|_| None).expect("config");
    let upstream = ScriptedUpstream::new(|_| {
        Script::Respond(http::Response::builder().status(200).body(Bytes::from_static(b"{}")).expect("response"))
    })
    .without_recording();
    let platform = MemoryPlatform::new(upstream);
    let client = ClientInfo { peer_ip: Some("192.0.2.1".parse().expect("ip")), https: false, host: None };
    let mut group = c.benchmark_group("limit: request");
    for path in ["/plain/42", "/limited/42"] {
        group.bench_function(path, |b| {
            b.iter(|| {
                let req = http::Request::builder()
                    .method("GET")
                    .uri(path)
                    .header("host", "api.example.com")
                    .body(Bytes::new())
                    .expect("request");
                let resp = block_on(gateway.handle(&platform, black_box(req), client.clone()));
                black_box(resp.status())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
