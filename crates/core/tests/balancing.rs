//! Balancing, retries within the budget, circuit breakers (issue 11), through
//! the whole pipeline with in-memory ports: a scripted upstream that answers
//! by target host, and a manual clock.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tollgate_core::platform::UpstreamError;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, load};

const CONFIG: &str = r#"
version: 1
upstreams:
  weighted:
    targets: [ { url: "http://a.test", weight: 300 }, { url: "http://b.test", weight: 100 }, { url: "http://c.test", weight: 0 } ]
  turns:
    targets: [ { url: "http://a.test", weight: 900 }, { url: "http://b.test" } ]
    balance: round_robin
  retried:
    targets: [ { url: "http://bad.test" }, { url: "http://b.test" } ]
    balance: round_robin
    retries: { attempts: 2, backoff: 10ms }
  hanging:
    targets: [ { url: "http://hang.test" }, { url: "http://b.test" } ]
    balance: round_robin
    retries: { attempts: 1, backoff: 1ms, per_try_timeout: 100ms }
  doomed:
    targets: [ { url: "http://bad.test" }, { url: "http://bad2.test" } ]
    retries: { attempts: 2, backoff: 1ms }
  breaking:
    targets: [ { url: "http://flappy.test" }, { url: "http://b.test" } ]
    balance: round_robin
    circuit_breaker: { failures: 3, open_for: 2s }
  drained:
    targets: [ { url: "http://a.test", weight: 0 } ]
routes:
  - { id: weighted, path: /weighted, upstream: weighted }
  - { id: turns, path: /turns, upstream: turns }
  - { id: retried, path: /retried, upstream: retried }
  - { id: hanging, path: /hanging, upstream: hanging, timeout: 1s }
  - { id: doomed, path: /doomed, upstream: doomed }
  - { id: breaking, path: /breaking, upstream: breaking }
  - { id: drained, path: /drained, upstream: drained }
"#;

/// Answers 200 naming the host, except `bad*` (503), `hang` (never) and
/// `flappy` (503 while `flappy_down`).
fn platform(flappy_down: Arc<AtomicBool>) -> MemoryPlatform {
    MemoryPlatform::new(ScriptedUpstream::new(move |req| {
        let host = req.uri().host().unwrap_or("").to_owned();
        if host.starts_with("bad") || (host == "flappy.test" && flappy_down.load(Ordering::SeqCst)) {
            return Script::Respond(Response::builder().status(503).body(Bytes::from(host)).expect("response"));
        }
        if host == "hang.test" {
            return Script::Hang;
        }
        if host == "gone.test" {
            return Script::Fail(UpstreamError::Connect("refused".into()));
        }
        Script::Respond(Response::new(Bytes::from(host)))
    }))
}

fn gateway() -> Gateway {
    load("balancing.yaml", CONFIG, &|_| None).unwrap_or_else(|e| panic!("config: {e}"))
}

fn send(gw: &Gateway, p: &MemoryPlatform, method: &str, path: &str, key: Option<&str>) -> Response<Bytes> {
    let mut req = Request::builder().method(method).uri(path).header("host", "gw");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let client = ClientInfo { peer_ip: Some("192.0.2.9".parse().expect("ip")), https: false, host: None };
    block_on(gw.handle(p, req.body(Bytes::new()).expect("request"), client))
}

fn hosts(p: &MemoryPlatform) -> Vec<String> {
    p.upstream.requests().iter().map(|r| r.uri().host().unwrap_or("").to_owned()).collect()
}

fn count(hosts: &[String], host: &str) -> usize {
    hosts.iter().filter(|h| *h == host).count()
}

#[test]
fn weights_share_the_traffic_and_a_weight_of_zero_drains() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    for _ in 0..400 {
        assert_eq!(send(&gw, &p, "GET", "/weighted", None).status(), StatusCode::OK);
    }
    let seen = hosts(&p);
    assert_eq!((count(&seen, "a.test"), count(&seen, "b.test"), count(&seen, "c.test")), (300, 100, 0));
}

#[test]
fn round_robin_ignores_the_weights() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    for _ in 0..4 {
        send(&gw, &p, "GET", "/turns", None);
    }
    assert_eq!(hosts(&p), ["a.test", "b.test", "a.test", "b.test"]);
}

#[test]
fn an_idempotent_request_is_retried_on_the_other_target() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    for _ in 0..6 {
        // Far apart: the retry budget's floor (3 per 10 s) is not what this pins.
        p.clock.advance(Duration::from_secs(11));
        let resp = send(&gw, &p, "GET", "/retried", None);
        assert_eq!((resp.status(), resp.body().as_ref()), (StatusCode::OK, &b"b.test"[..]), "{:?}", hosts(&p));
    }
    let seen = hosts(&p);
    assert_eq!(count(&seen, "b.test"), 6);
    assert_eq!(count(&seen, "bad.test"), 3, "every other first try went to the failing target, once each");
}

#[test]
fn a_post_is_retried_only_with_an_idempotency_key() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    let statuses: Vec<u16> = (0..4).map(|_| send(&gw, &p, "POST", "/retried", None).status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2, "{statuses:?}: the backend's 503 passes through");
    assert_eq!(count(&hosts(&p), "bad.test"), 2, "never sent twice");
    for i in 0..4 {
        p.clock.advance(Duration::from_secs(11));
        let resp = send(&gw, &p, "POST", "/retried", Some(&format!("k{i}")));
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

#[test]
fn a_try_that_hangs_is_cut_by_its_own_timeout_and_retried() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    let resp = send(&gw, &p, "GET", "/hanging", None);
    assert_eq!((resp.status(), resp.body().as_ref()), (StatusCode::OK, &b"b.test"[..]));
    assert_eq!(hosts(&p), ["hang.test", "b.test"]);
}

#[test]
fn the_retry_budget_caps_the_load_on_a_failing_upstream() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    for _ in 0..300 {
        assert_eq!(send(&gw, &p, "GET", "/doomed", None).status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let attempts = p.upstream.requests().len();
    // 300 requests in the same second: 20% of them plus the floor of 3.
    assert!(attempts <= 300 + 60 + 3, "{attempts} attempts for 300 requests");
    assert!(attempts > 300, "some retries were made: {attempts}");
}

#[test]
fn the_breaker_ejects_a_failing_target_then_probes_it() {
    let down = Arc::new(AtomicBool::new(true));
    let (gw, p) = (gateway(), platform(down.clone()));
    for _ in 0..6 {
        send(&gw, &p, "GET", "/breaking", None);
    }
    assert_eq!(count(&hosts(&p), "flappy.test"), 3, "three failures in turn");
    for _ in 0..10 {
        assert_eq!(send(&gw, &p, "GET", "/breaking", None).status(), StatusCode::OK);
    }
    assert_eq!(count(&hosts(&p), "flappy.test"), 3, "ejected: no request while open");
    down.store(false, Ordering::SeqCst);
    p.clock.advance(Duration::from_secs(2));
    for _ in 0..4 {
        assert_eq!(send(&gw, &p, "GET", "/breaking", None).status(), StatusCode::OK);
    }
    assert!(count(&hosts(&p), "flappy.test") >= 5, "probed, re-admitted, back in turn: {:?}", hosts(&p));
}

#[test]
fn a_failed_probe_ejects_the_target_again_for_longer() {
    let down = Arc::new(AtomicBool::new(true));
    let (gw, p) = (gateway(), platform(down));
    for _ in 0..6 {
        send(&gw, &p, "GET", "/breaking", None);
    }
    p.clock.advance(Duration::from_secs(2));
    for _ in 0..2 {
        send(&gw, &p, "GET", "/breaking", None);
    }
    let after_probe = count(&hosts(&p), "flappy.test");
    assert_eq!(after_probe, 4, "one probe");
    p.clock.advance(Duration::from_secs(3));
    for _ in 0..4 {
        send(&gw, &p, "GET", "/breaking", None);
    }
    assert_eq!(count(&hosts(&p), "flappy.test"), after_probe, "the second ejection lasts 4 s");
}

#[test]
fn no_eligible_target_is_a_503_problem() {
    let (gw, p) = (gateway(), platform(Arc::default()));
    let resp = send(&gw, &p, "GET", "/drained", None);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert!(resp.headers().get("retry-after").is_none(), "drained: no time to give");
    let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(body["type"], "https://tollgate.dev/problems/no-healthy-target");
    assert!(p.upstream.requests().is_empty());
}

#[test]
fn the_admin_routes_listing_shows_each_targets_health() {
    let cfg = CONFIG.replace("version: 1\n", "version: 1\nadmin: { token: t0ken-for-tests }\n");
    let gw = load("balancing.yaml", &cfg, &|_| None).expect("config");
    let p = platform(Arc::new(AtomicBool::new(true)));
    for _ in 0..6 {
        send(&gw, &p, "GET", "/breaking", None);
    }
    let req = Request::get("/_gateway/routes").header("authorization", "Bearer t0ken-for-tests");
    let resp = block_on(gw.handle(&p, req.body(Bytes::new()).expect("request"), ClientInfo::default()));
    let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
    let route = |id: &str| body["routes"].as_array().and_then(|r| r.iter().find(|r| r["id"] == id)).cloned();
    let breaking = route("breaking").expect("listed");
    assert_eq!(breaking["targets"][0]["health"], "ejected");
    assert_eq!(breaking["targets"][1]["health"], "healthy");
    assert_eq!(route("drained").expect("listed")["targets"][0]["health"], "drained");

    let get = |path: &str| {
        let req = Request::get(path).header("authorization", "Bearer t0ken-for-tests");
        block_on(gw.handle(&p, req.body(Bytes::new()).expect("request"), ClientInfo::default()))
    };
    let one = get("/_gateway/upstreams/breaking");
    assert_eq!(one.status(), StatusCode::OK);
    let one: serde_json::Value = serde_json::from_slice(one.body()).expect("json");
    assert_eq!(one["balance"], "round_robin");
    assert_eq!(one["targets"][0]["health"], "ejected");
    assert_eq!(one["targets"][1]["weight"], 100, "the default weight");
    assert_eq!(one["circuit_breaker"]["failures"], 3);
    assert_eq!(one["retries"], serde_json::Value::Null);
    assert_eq!(get("/_gateway/upstreams/retried").status(), StatusCode::OK);
    assert_eq!(get("/_gateway/upstreams/nope").status(), StatusCode::NOT_FOUND);
    let anonymous = Request::get("/_gateway/upstreams/breaking").body(Bytes::new()).expect("request");
    let refused = block_on(gw.handle(&p, anonymous, ClientInfo::default()));
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "behind the admin token");
}
