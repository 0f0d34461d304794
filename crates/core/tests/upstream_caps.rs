//! Upstream answer caps (issue 9, finding 6): every upstream request carries
//! the smallest cap that applies (`limits.max_upstream_body`, 8 MiB for an
//! aggregation leg, 4 MiB for a translated answer) so that adapters stop
//! reading at it; an answer past the cap is a 502 problem even from an
//! adapter that ignored it. Also the local server's limits as `check` reads
//! them (defaults, and located errors).

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use std::time::Duration;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::platform::{DEFAULT_MAX_UPSTREAM_BODY, UpstreamBodyLimit};
use tollgate_core::{ClientInfo, Gateway, load};

const MIB: u64 = 1024 * 1024;

fn config(limits: &str) -> String {
    format!(
        r#"
version: 1
{limits}
upstreams:
  u: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: plain, path: /plain, upstream: u }}
  - id: soap
    path: /soap
    upstream: u
    translate:
      request: {{ soap: {{ action: Ping, body: "<Ping/>" }} }}
      response: xml_to_json
  - id: agg
    path: /agg
    aggregate:
      backends:
        - {{ name: a, upstream: u, path: /a }}
"#
    )
}

fn gateway(limits: &str) -> Gateway {
    load("caps.yaml", &config(limits), &|_| None).expect("config loads")
}

fn client() -> ClientInfo {
    ClientInfo { peer_ip: Some("192.0.2.7".parse().expect("ip")), https: false, host: None }
}

fn get(gw: &Gateway, p: &MemoryPlatform, uri: &str) -> Response<Bytes> {
    let req = Request::builder().uri(uri).header("host", "gw").body(Bytes::new()).expect("request");
    block_on(gw.handle(p, req, client()))
}

/// An upstream answering `size` bytes of JSON-ish text (200).
fn answering(size: usize) -> ScriptedUpstream {
    ScriptedUpstream::new(move |_| {
        let mut body = vec![b' '; size];
        if size >= 2 {
            body[0] = b'{';
            body[size - 1] = b'}';
        }
        let mut resp = Response::new(Bytes::from(body));
        resp.headers_mut().insert("content-type", "application/json".parse().expect("value"));
        Script::Respond(resp)
    })
}

fn caps_seen(p: &MemoryPlatform) -> Vec<u64> {
    p.upstream.requests().iter().map(|r| r.extensions().get::<UpstreamBodyLimit>().map_or(0, |l| l.0)).collect()
}

#[test]
fn every_upstream_request_carries_the_smallest_cap_that_applies() {
    // (limits, plain, translated, aggregation leg)
    let cases: &[(&str, u64, u64, u64)] = &[
        ("", DEFAULT_MAX_UPSTREAM_BODY, 4 * MIB, 8 * MIB),
        ("limits: { max_upstream_body: 1048576 }", MIB, MIB, MIB),
        ("limits: { max_upstream_body: 6291456 }", 6 * MIB, 4 * MIB, 6 * MIB),
        ("limits: { max_upstream_body: 67108864 }", 64 * MIB, 4 * MIB, 8 * MIB),
    ];
    for (limits, plain, soap, agg) in cases {
        let gw = gateway(limits);
        let p = MemoryPlatform::new(answering(2));
        for uri in ["/plain", "/soap", "/agg"] {
            get(&gw, &p, uri);
        }
        assert_eq!(caps_seen(&p), vec![*plain, *soap, *agg], "{limits}");
    }
}

#[test]
fn an_answer_past_the_cap_is_a_502_problem_even_if_the_adapter_read_it() {
    let gw = gateway("limits: { max_upstream_body: 1000 }");
    for (size, status) in [(999, StatusCode::OK), (1000, StatusCode::OK), (1001, StatusCode::BAD_GATEWAY)] {
        let p = MemoryPlatform::new(answering(size));
        let resp = get(&gw, &p, "/plain");
        assert_eq!(resp.status(), status, "{size} bytes");
        if status == StatusCode::BAD_GATEWAY {
            assert_eq!(resp.headers()["content-type"], "application/problem+json");
        }
        // The aggregation's leg is optional: it fails with 502 and is listed.
        let resp = get(&gw, &p, "/agg");
        let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("JSON");
        let failed = body.get("_errors").and_then(|e| e.get("a")).and_then(|a| a.get("status")).cloned();
        let want = (status == StatusCode::BAD_GATEWAY).then(|| serde_json::json!(502));
        assert_eq!(failed, want, "/agg with {size} bytes: {body}");
    }
}

#[test]
fn the_local_server_limits_have_nginx_like_defaults() {
    let gw = gateway("");
    let s = gw.server_limits();
    assert_eq!(s.max_connections, None, "sized from the fd limit by the server");
    assert_eq!(s.header_timeout, Duration::from_secs(10));
    assert_eq!(s.body_timeout, Duration::from_secs(60));
    assert_eq!(s.send_timeout, Duration::from_secs(60));
    assert_eq!(gw.max_upstream_body(), DEFAULT_MAX_UPSTREAM_BODY);

    let gw = gateway(
        "limits: { max_connections: 8, header_timeout: 2s, body_timeout: 1500ms, send_timeout: 3s, max_upstream_body: 5 }",
    );
    let s = gw.server_limits();
    assert_eq!(s.max_connections, Some(8));
    assert_eq!(s.header_timeout, Duration::from_secs(2));
    assert_eq!(s.body_timeout, Duration::from_millis(1500));
    assert_eq!(s.send_timeout, Duration::from_secs(3));
    assert_eq!(gw.max_upstream_body(), 5);
}

#[test]
fn zero_limits_are_config_errors_with_their_location() {
    let cases: &[(&str, &str)] = &[
        ("limits: { max_connections: 0 }", "caps.yaml:3:28: limits.max_connections must be at least 1"),
        ("limits: { max_upstream_body: 0 }", "caps.yaml:3:30: limits.max_upstream_body must be at least 1"),
        ("limits: { body_timeout: 0s }", "caps.yaml:3:25: limits.body_timeout must be longer than 0"),
        ("limits: { send_timeout: 0ms }", "caps.yaml:3:25: limits.send_timeout must be longer than 0"),
        ("limits: { header_timeout: 0s }", "caps.yaml:3:27: limits.header_timeout must be longer than 0"),
        ("limits: { body_timeout: soon }", "caps.yaml:3:11: limits: body_timeout: `soon` is not a duration"),
        ("limits: { max_conections: 5 }", "unknown field `max_conections`"),
    ];
    for (limits, want) in cases {
        let errs = match load("caps.yaml", &config(limits), &|_| None) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        };
        assert!(errs.iter().any(|e| e.contains(want)), "{limits}: want {want}, got {errs:?}");
    }
}
