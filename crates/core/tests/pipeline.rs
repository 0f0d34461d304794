//! The whole pipeline, natively, with in-memory ports: a scripted upstream
//! and a manual clock. Each test pins one behaviour a client can see.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, Response, StatusCode};
use tollgate_core::platform::UpstreamError;
use tollgate_core::platform::memory::{MemoryPlatform, Script, ScriptedUpstream};
use tollgate_core::{ClientInfo, Gateway, load};

const CONFIG: &str = r#"
version: 1
limits: { max_body_bytes: 16, max_header_bytes: 2048 }
cors:
  allow_origins: ["https://app.example.com"]
  allow_methods: [GET, POST]
  allow_headers: [authorization, content-type]
  expose_headers: [x-request-id]
  max_age: 10m
upstreams:
  echo: { targets: [ { url: "http://10.0.0.1:9001/base" } ], timeout: 2s }
routes:
  - id: users.get
    path: /v1/users/{id}
    methods: [GET]
    upstream: echo
    rewrite: /internal/users/{id}
    request:
      headers: { set: { x-source: gateway, x-lang: "{query.lang}" }, remove: [cookie] }
      query: { set: { src: gw }, remove: [debug] }
    response:
      headers: { set: { x-served-by: tollgate }, remove: [x-backend-secret] }
  - id: users.create
    path: /v1/users/{id}
    methods: [PUT]
    upstream: echo
  - id: public
    path: /public/{*rest}
    upstream: echo
  - id: file
    path: /files/{name}
    upstream: echo
    rewrite: /store/{query.dir}/{name}
"#;

fn gateway() -> Gateway {
    load("test.yaml", CONFIG, &|_| None).expect("config loads")
}

fn req(method: &str, uri: &str) -> http::request::Builder {
    Request::builder().method(method).uri(uri).header("host", "gw.example.com")
}

fn client() -> ClientInfo {
    ClientInfo { peer_ip: Some("192.0.2.7".parse().expect("ip")), https: true, host: None }
}

fn run(gw: &Gateway, p: &MemoryPlatform, r: Request<Bytes>) -> Response<Bytes> {
    block_on(gw.handle(p, r, client()))
}

fn get(gw: &Gateway, p: &MemoryPlatform, uri: &str) -> Response<Bytes> {
    run(gw, p, req("GET", uri).body(Bytes::new()).expect("request"))
}

fn problem(resp: &Response<Bytes>) -> serde_json::Value {
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    serde_json::from_slice(resp.body()).expect("problem body is JSON")
}

#[test]
fn route_forwards_rewritten_path_edited_query_and_headers() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let r = req("GET", "/v1/users/42?lang=fr&debug=1&keep=a%20b")
        .header("cookie", "session=1")
        .header("x-consumer-id", "spoofed")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-real-ip", "6.6.6.6")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("x-request-id", "client-id-1")
        .body(Bytes::new())
        .expect("request");
    let resp = run(&gw, &p, r);
    assert_eq!(resp.status(), StatusCode::OK);
    let sent = p.upstream.requests();
    assert_eq!(sent.len(), 1);
    let up = &sent[0];
    assert_eq!(up.uri().to_string(), "http://10.0.0.1:9001/base/internal/users/42?lang=fr&keep=a%20b&src=gw");
    let h = up.headers();
    for gone in ["cookie", "x-consumer-id", "connection", "x-hop", "keep-alive", "host"] {
        assert!(!h.contains_key(gone), "{gone} must not be forwarded");
    }
    assert_eq!(h["x-source"], "gateway");
    assert_eq!(h["x-lang"], "fr");
    assert_eq!(h["x-forwarded-for"], "192.0.2.7");
    assert_eq!(h["x-real-ip"], "192.0.2.7");
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-host"], "gw.example.com");
    assert_eq!(h["x-request-id"], "client-id-1");
    assert!(h["traceparent"].to_str().expect("ascii").starts_with("00-"));
    assert_eq!(resp.headers()["x-request-id"], "client-id-1");
    assert_eq!(resp.headers()["x-served-by"], "tollgate");
    let timing = resp.headers()["server-timing"].to_str().expect("ascii");
    assert!(timing.starts_with("gateway;dur=") && timing.contains("upstream;dur="), "{timing}");
}

#[test]
fn upstream_hop_by_hop_and_removed_response_headers_do_not_reach_the_client() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::new(|_| {
        let resp = Response::builder()
            .status(201)
            .header("connection", "x-private")
            .header("x-private", "1")
            .header("keep-alive", "timeout=1")
            .header("x-backend-secret", "s")
            .header("x-kept", "k")
            .body(Bytes::from_static(b"made"))
            .expect("response");
        Script::Respond(resp)
    }));
    let resp = get(&gw, &p, "/v1/users/1");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.body().as_ref(), b"made");
    for gone in ["connection", "x-private", "keep-alive", "x-backend-secret"] {
        assert!(!resp.headers().contains_key(gone), "{gone}");
    }
    assert_eq!(resp.headers()["x-kept"], "k");
}

#[test]
fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let resp = get(&gw, &p, "/nowhere");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(&resp)["status"], 404);
    let resp = run(&gw, &p, req("DELETE", "/v1/users/1").body(Bytes::new()).expect("request"));
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET, HEAD, PUT");
    let head = run(&gw, &p, req("HEAD", "/v1/users/1").body(Bytes::new()).expect("request"));
    assert_eq!(head.status(), StatusCode::OK, "HEAD is accepted where GET is");
    let put = run(&gw, &p, req("PUT", "/v1/users/1").body(Bytes::from_static(b"{}")).expect("request"));
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(p.upstream.requests().len(), 2, "only HEAD and PUT were forwarded");
}

#[test]
fn path_attacks_never_reach_another_route() {
    let gw = gateway();
    let refused = [
        "/public/a%2Fb",
        "/public/a%5Cb",
        "/public/a%00b",
        "/public/a;b=c",
        "/public/%252e%252e/admin",
        "/public/..%252f..%252fadmin",
        "/..",
        "/public/../../etc/passwd",
    ];
    for path in refused {
        let p = MemoryPlatform::new(ScriptedUpstream::echo());
        let resp = get(&gw, &p, path);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(problem(&resp)["status"], 400, "{path}");
        assert!(p.upstream.requests().is_empty(), "{path} reached the upstream");
    }
    for path in ["//admin", "/%61dmin", "/public/../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin"] {
        let p = MemoryPlatform::new(ScriptedUpstream::echo());
        let resp = get(&gw, &p, path);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path} is /admin, which has no route");
        assert!(p.upstream.requests().is_empty(), "{path} reached the upstream");
    }
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(get(&gw, &p, "/public/./x//y/%7euser").status(), StatusCode::OK);
    assert_eq!(p.upstream.requests()[0].uri().path(), "/base/public/x/y/~user", "the normalised path is forwarded");
}

#[test]
fn a_dot_segment_value_cannot_climb_out_of_a_rewrite() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(get(&gw, &p, "/files/a.txt?dir=..").status(), StatusCode::BAD_REQUEST);
    assert_eq!(get(&gw, &p, "/files/a.txt?dir=x%2F..%2F..").status(), StatusCode::OK);
    assert_eq!(p.upstream.requests()[0].uri().path(), "/base/store/x%2F..%2F../a.txt", "`/` in a value stays encoded");
}

#[test]
fn bodies_over_the_limit_are_413_and_headers_over_it_431() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let big = run(&gw, &p, req("POST", "/public/x").body(Bytes::from(vec![b'a'; 17])).expect("request"));
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem(&big)["status"], 413);
    let declared =
        run(&gw, &p, req("POST", "/public/x").header("content-length", "1000").body(Bytes::new()).expect("request"));
    assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let fits = run(&gw, &p, req("POST", "/public/x").body(Bytes::from(vec![b'a'; 16])).expect("request"));
    assert_eq!(fits.status(), StatusCode::OK);
    assert_eq!(p.upstream.requests()[0].body().len(), 16);
    let huge =
        run(&gw, &p, req("GET", "/public/x").header("x-big", "a".repeat(3000)).body(Bytes::new()).expect("request"));
    assert_eq!(huge.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(p.upstream.requests().len(), 1);
}

#[test]
fn upstream_failures_map_to_502_and_504_and_statuses_pass_through() {
    let gw = gateway();
    let cases = [
        (Script::Fail(UpstreamError::Connect("refused 10.0.0.1:9001".into())), 502),
        (Script::Fail(UpstreamError::Protocol("garbage".into())), 502),
        (Script::Hang, 504),
    ];
    for (script, status) in cases {
        let script = std::sync::Mutex::new(Some(script));
        let p = MemoryPlatform::new(ScriptedUpstream::new(move |_| {
            script.lock().expect("lock").take().unwrap_or(Script::Hang)
        }));
        let resp = get(&gw, &p, "/public/x");
        assert_eq!(resp.status().as_u16(), status);
        let body = problem(&resp);
        assert_eq!(body["status"], status);
        assert!(!resp.body().windows(8).any(|w| w == b"10.0.0.1"), "no upstream address in the answer");
    }
    let p = MemoryPlatform::new(ScriptedUpstream::new(|_| {
        Script::Respond(
            Response::builder()
                .status(503)
                .header("content-type", "text/plain")
                .body(Bytes::from_static(b"busy"))
                .expect("response"),
        )
    }));
    let resp = get(&gw, &p, "/public/x");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.body().as_ref(), b"busy");
}

#[test]
fn cors_headers_go_on_answers_and_errors_for_allowed_origins_only() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for uri in ["/public/x", "/nowhere"] {
        let r = req("GET", uri).header("origin", "https://app.example.com").body(Bytes::new()).expect("request");
        let resp = run(&gw, &p, r);
        assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.example.com", "{uri}");
        assert_eq!(resp.headers()["access-control-expose-headers"], "x-request-id");
        assert_eq!(resp.headers()["vary"], "Origin");
        let r = req("GET", uri).header("origin", "https://evil.example").body(Bytes::new()).expect("request");
        let resp = run(&gw, &p, r);
        assert!(!resp.headers().contains_key("access-control-allow-origin"), "{uri}");
    }
    let pre = req("OPTIONS", "/v1/users/1")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .body(Bytes::new())
        .expect("request");
    let resp = run(&gw, &p, pre);
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(resp.headers()["access-control-allow-methods"], "GET, POST");
    assert_eq!(resp.headers()["access-control-allow-headers"], "authorization, content-type");
    assert_eq!(resp.headers()["access-control-max-age"], "600");
    assert_eq!(resp.headers()["vary"], "Origin");
    let denied = req("OPTIONS", "/v1/users/1")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .body(Bytes::new())
        .expect("request");
    let resp = run(&gw, &p, denied);
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
    assert!(p.upstream.requests().len() == 2, "preflights are answered by the gateway");
}

#[test]
fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for (sent, kept) in [("abc-1.2_3:4", true), ("bad id!", false), ("", false), (&"x".repeat(129)[..], false)] {
        let r = req("GET", "/nowhere").header("x-request-id", sent).body(Bytes::new()).expect("request");
        let resp = run(&gw, &p, r);
        let id = resp.headers()["x-request-id"].to_str().expect("ascii").to_owned();
        assert_eq!(id == sent, kept, "{sent:?}");
        assert_eq!(problem(&resp)["request_id"], id.as_str());
    }
}

#[test]
fn health_reports_the_runtime_and_other_admin_paths_are_404() {
    let gw = gateway();
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let resp = get(&gw, &p, "/_gateway/health");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(resp.body()).expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["runtime"], "local");
    assert_eq!(get(&gw, &p, "/_gateway/./health").status(), StatusCode::OK);
    assert_eq!(get(&gw, &p, "/_gateway/nothing").status(), StatusCode::NOT_FOUND);
    assert!(p.upstream.requests().is_empty());
}

#[test]
fn x_forwarded_for_is_trusted_only_when_configured() {
    let cfg = CONFIG.replace("version: 1\n", "version: 1\nclient_ip: x-forwarded-for\n");
    let gw = load("test.yaml", &cfg, &|_| None).expect("config loads");
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let r =
        req("GET", "/public/x").header("x-forwarded-for", "6.6.6.6, 198.51.100.9").body(Bytes::new()).expect("request");
    run(&gw, &p, r);
    let h = p.upstream.requests()[0].headers().clone();
    assert_eq!(h["x-forwarded-for"], "6.6.6.6, 198.51.100.9, 192.0.2.7");
    assert_eq!(h["x-real-ip"], "198.51.100.9", "the rightmost entry, added by the trusted proxy");
}
