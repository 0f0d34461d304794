//! Issue 9's findings on identity, credentials and headers, through the
//! whole pipeline with in-memory ports. Each test failed before its fix:
//! - finding 1: the client address behind `client_ip: x-forwarded-for`;
//! - finding 2: credentials that did not verify never reach the upstream;
//! - finding 4: JWT subjects map to consumers only for their issuer;
//! - finding 5: the failed-authentication limit under concurrency, by IPv6
//!   prefix, IPv4-mapped addresses, and without any client address;
//! - finding 8: identity, override and rewrite headers in every spelling;
//! - finding 9: query edits against case and encoding variants.

use bytes::Bytes;
use futures_executor::block_on;
use futures_util::future::join_all;
use http::{Request, Response, StatusCode};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use tollgate_core::platform::memory::{ManualClock, MemoryKv, MemoryPlatform, ScriptedUpstream};
use tollgate_core::platform::{KeyValueStore, MaybeSend, Platform, StoreError, Timestamp};
use tollgate_core::{ClientInfo, Gateway, api_key_stored_form, load};

const MAIN_SECRET: &str = "main-secret-0123456789-0123456789-abcdef";
const DEV_SECRET: &str = "dev-secret-0123456789-0123456789-abcdefgh";

fn token(secret: &str, sub: &str) -> String {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        sub: &'a str,
        exp: u64,
    }
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).expect("key");
    // Far in the future of the manual clock (2026-09).
    jsonwebtoken::encode(&header, &Claims { sub, exp: 4_000_000_000 }, &key).expect("token")
}

fn gateway(yaml: &str) -> Gateway {
    load("security.yaml", yaml, &|_| None).expect("config loads")
}

fn client(ip: Option<&str>) -> ClientInfo {
    ClientInfo { peer_ip: ip.map(|i| i.parse().expect("ip")), https: true, host: None }
}

fn send<P: Platform>(gw: &Gateway, p: &P, ip: Option<&str>, r: http::request::Builder) -> Response<Bytes> {
    block_on(gw.handle(p, r.body(Bytes::new()).expect("request"), client(ip)))
}

fn get(uri: &str) -> http::request::Builder {
    Request::builder().method("GET").uri(uri).header("host", "gw")
}

fn with_raw_header(r: http::request::Builder, name: &str, value: &[u8]) -> http::request::Builder {
    r.header(name, http::HeaderValue::from_bytes(value).expect("header value"))
}

/// The last request the upstream got.
fn sent(p: &MemoryPlatform) -> Request<Bytes> {
    p.upstream.requests().pop().expect("the upstream was called")
}

// ---------------------------------------------------------------- finding 1

const XFF: &str = r#"
version: 1
client_ip: x-forwarded-for
trusted_hops: 1
auth_failures: { per_ip: 2, per: 1m }
auth:
  api_key:
    keys: { header: x-api-key }
upstreams:
  echo: { targets: [ { url: "http://10.0.0.1:9001" } ] }
routes:
  - { id: proxy-only, path: /internal, upstream: echo, ip: { allow: ["10.9.9.9/32"] } }
  - { id: deny-list, path: /open, upstream: echo, ip: { deny: ["192.0.2.0/24"] } }
  - { id: by-ip, path: /limited, upstream: echo, rate_limit: { requests: 2, per: 1m, key: ip } }
  - { id: keyed, path: /keyed, upstream: echo, auth: ["api_key:keys"] }
"#;

const PROXY: &str = "10.9.9.9";

/// Variants of an `X-Forwarded-For` whose trusted hop is absent or unreadable.
fn hostile_chains() -> Vec<Vec<&'static [u8]>> {
    vec![
        vec![],
        vec![b"\xff"],
        vec![b"1.2.3.4\xff"],
        vec![b"unknown"],
        vec![b"1.2.3.4, \xff"],
        vec![b"1.2.3.4", b"\xfe\xff"],
        vec![b" , "],
        vec![b"999.0.0.1"],
    ]
}

fn via_proxy(uri: &str, chain: &[&[u8]]) -> http::request::Builder {
    chain.iter().fold(get(uri), |r, line| with_raw_header(r, "x-forwarded-for", line))
}

#[test]
fn finding_1_an_unreadable_forwarded_for_never_makes_the_proxy_the_client() {
    let gw = gateway(XFF);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for chain in hostile_chains() {
        let resp = send(&gw, &p, Some(PROXY), via_proxy("/internal", &chain));
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{chain:?}: the proxy's address passed the allowlist");
    }
    assert!(p.upstream.requests().is_empty());
    // The proxy's own hop names the client: allowed only if that client is allowed.
    assert_eq!(send(&gw, &p, Some(PROXY), via_proxy("/internal", &[b"10.9.9.9"])).status(), StatusCode::OK);
    assert_eq!(send(&gw, &p, Some(PROXY), via_proxy("/internal", &[b"1.2.3.4"])).status(), StatusCode::FORBIDDEN);
    // A deny list cannot be dodged by making the address unknown either.
    for chain in hostile_chains() {
        let resp = send(&gw, &p, Some(PROXY), via_proxy("/open", &chain));
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{chain:?}: an unknown address passed a deny list");
    }
}

#[test]
fn finding_1_the_chain_is_read_whole_and_forwarded_byte_for_byte() {
    let gw = gateway(XFF);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    // nginx's $proxy_add_x_forwarded_for joins the client's value and its own.
    let resp = send(&gw, &p, Some(PROXY), via_proxy("/open", &[b"\xff, 198.51.100.7"]));
    assert_eq!(resp.status(), StatusCode::OK);
    let up = sent(&p);
    assert_eq!(up.headers()["x-real-ip"], "198.51.100.7");
    assert_eq!(up.headers()["x-forwarded-for"].as_bytes(), b"\xff, 198.51.100.7, 10.9.9.9");
    // Two lines are one chain, in order.
    send(&gw, &p, Some(PROXY), via_proxy("/open", &[b"6.6.6.6", b"198.51.100.8"]));
    assert_eq!(sent(&p).headers()["x-real-ip"], "198.51.100.8");
    // Unknown: no X-Real-IP at all, never the proxy's.
    send(&gw, &p, Some(PROXY), via_proxy("/limited", &[b"\xff"]));
    assert!(!sent(&p).headers().contains_key("x-real-ip"));
}

#[test]
fn finding_1_unknown_clients_share_one_limited_key_apart_from_the_proxy() {
    let gw = gateway(XFF);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    // The proxy itself (a health check through it, say) uses its own bucket.
    for _ in 0..2 {
        assert_eq!(send(&gw, &p, Some(PROXY), via_proxy("/limited", &[PROXY.as_bytes()])).status(), StatusCode::OK);
    }
    // Unknown addresses are one bucket, not the proxy's (which is used up).
    let chains = hostile_chains();
    let statuses: Vec<StatusCode> =
        chains.iter().map(|c| send(&gw, &p, Some(PROXY), via_proxy("/limited", c)).status()).collect();
    assert_eq!(&statuses[..2], &[StatusCode::OK, StatusCode::OK], "ip:unknown is its own bucket");
    assert!(statuses[2..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "ip:unknown is limited: {statuses:?}");
    // Real clients are unaffected.
    assert_eq!(send(&gw, &p, Some(PROXY), via_proxy("/limited", &[b"198.51.100.9"])).status(), StatusCode::OK);
}

// ---------------------------------------------------------------- finding 2

fn either_config() -> String {
    format!(
        r#"
version: 1
auth:
  jwt:
    main: {{ algorithms: [HS256], secret: "{MAIN_SECRET}" }}
  api_key:
    keys: {{ header: x-api-key }}
    qkeys: {{ query: api_key }}
consumers:
  - {{ id: acme, api_keys: ["{key}"], jwt_subjects: ["main:acme-service"] }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: either, path: /either, upstream: echo, auth: ["jwt:main", "api_key:keys", "api_key:qkeys"] }}
  - {{ id: either-fwd, path: /fwd, upstream: echo, auth: ["jwt:main", "api_key:keys", "api_key:qkeys"], forward_credentials: true }}
"#,
        key = api_key_stored_form("acme-key"),
    )
}

#[test]
fn finding_2_a_credential_that_failed_never_reaches_the_upstream() {
    let gw = gateway(&either_config());
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let good_jwt = format!("Bearer {}", token(MAIN_SECRET, "acme-service"));
    let forged_jwt = format!("Bearer {}", token("not-the-secret-0123456789-0123456789-xyz", "admin"));
    for route in ["/either", "/fwd"] {
        // A forged JWT beside a good key (header or query).
        let r = send(
            &gw,
            &p,
            Some("192.0.2.1"),
            get(route).header("authorization", &forged_jwt).header("x-api-key", "acme-key"),
        );
        assert_eq!(r.status(), StatusCode::OK);
        let up = sent(&p);
        assert!(!up.headers().contains_key("authorization"), "{route}: a forged JWT was forwarded");
        assert_eq!(
            up.headers().contains_key("x-api-key"),
            route == "/fwd",
            "{route}: only the verified key, only when forwarded"
        );

        let uri = format!("{route}?api_key=acme-key&x=1");
        let r = send(&gw, &p, Some("192.0.2.1"), get(&uri).header("authorization", &forged_jwt));
        assert_eq!(r.status(), StatusCode::OK);
        let up = sent(&p);
        assert!(!up.headers().contains_key("authorization"), "{route}: a forged JWT was forwarded (query key)");

        // A rejected key beside a good JWT: the key goes nowhere, in any place or spelling.
        let uri = format!("{route}?API_KEY=guess-2&%41pi_Key=guess-3&x=1");
        let r = send(
            &gw,
            &p,
            Some("192.0.2.1"),
            get(&uri).header("authorization", &good_jwt).header("x-api-key", "guess-4").header("x_api_key", "guess-5"),
        );
        assert_eq!(r.status(), StatusCode::OK);
        let up = sent(&p);
        assert!(
            !up.headers().contains_key("x-api-key") && !up.headers().contains_key("x_api_key"),
            "{route}: a rejected key was forwarded"
        );
        assert_eq!(up.uri().query(), Some("x=1"), "{route}: a query key spelled otherwise was forwarded");
        let uri = format!("{route}?api_key=guess-1&x=1");
        let r = send(&gw, &p, Some("192.0.2.1"), get(&uri).header("authorization", &good_jwt));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(sent(&p).uri().query(), Some("x=1"), "{route}: a rejected query key was forwarded");
        assert_eq!(
            up.headers().contains_key("authorization"),
            route == "/fwd",
            "{route}: the verified JWT goes on only with forward_credentials"
        );
    }
}

// ---------------------------------------------------------------- finding 4

fn two_issuers(extra: &str) -> String {
    format!(
        r#"
version: 1
auth:
  jwt:
    main: {{ algorithms: [HS256], secret: "{MAIN_SECRET}", forward_claims: {{ sub: x-user-id }} }}
    dev:  {{ algorithms: [HS256], secret: "{DEV_SECRET}" }}
consumers:
  - {{ id: acme, plan: gold, jwt_subjects: ["main:acme-service"{extra}] }}
plans:
  gold: {{ rate_limit: {{ requests: 1000, per: 1s }} }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: jwt, path: /jwt, upstream: echo, auth: ["jwt:main", "jwt:dev"] }}
"#
    )
}

#[test]
fn finding_4_a_subject_is_a_consumer_only_for_its_issuer() {
    let gw = gateway(&two_issuers(""));
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let main = send(
        &gw,
        &p,
        Some("192.0.2.1"),
        get("/jwt").header("authorization", format!("Bearer {}", token(MAIN_SECRET, "acme-service"))),
    );
    assert_eq!(main.status(), StatusCode::OK);
    assert_eq!(sent(&p).headers()["x-consumer-id"], "acme");
    assert!(main.headers().contains_key("ratelimit-policy"), "acme's plan applies");

    let dev = send(
        &gw,
        &p,
        Some("192.0.2.1"),
        get("/jwt").header("authorization", format!("Bearer {}", token(DEV_SECRET, "acme-service"))),
    );
    assert_eq!(dev.status(), StatusCode::OK);
    assert!(!sent(&p).headers().contains_key("x-consumer-id"), "a dev token with acme's sub became acme");
    assert!(!dev.headers().contains_key("ratelimit-policy"), "acme's plan applied to a dev token");
}

#[test]
fn finding_4_run_time_subjects_are_qualified_by_issuer() {
    let gw = gateway(&two_issuers(""));
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let record = Bytes::from_static(br#"{"id": "runtime-consumer"}"#);
    block_on(p.kv.put("subject:dev:bob", record.clone(), None)).expect("kv");
    block_on(p.kv.put("subject:carol", record, None)).expect("kv");
    let bearer = |secret, sub| format!("Bearer {}", token(secret, sub));

    send(&gw, &p, None, get("/jwt").header("authorization", bearer(DEV_SECRET, "bob")));
    assert_eq!(sent(&p).headers()["x-consumer-id"], "runtime-consumer");
    send(&gw, &p, None, get("/jwt").header("authorization", bearer(MAIN_SECRET, "bob")));
    assert!(!sent(&p).headers().contains_key("x-consumer-id"), "subject:dev:bob mapped a main token");
    for secret in [MAIN_SECRET, DEV_SECRET] {
        send(&gw, &p, None, get("/jwt").header("authorization", bearer(secret, "carol")));
        assert!(!sent(&p).headers().contains_key("x-consumer-id"), "an unqualified record counted with two issuers");
    }
}

#[test]
fn finding_4_an_unqualified_subject_needs_exactly_one_issuer() {
    for extra in [r#", "acme-service""#, r#", "other:acme-service""#, r#", "urn:x:y""#] {
        let errors = load("security.yaml", &two_issuers(extra), &|_| None).err().expect("refused").to_string();
        assert!(errors.contains("must name the issuer"), "{extra}: {errors}");
        assert!(errors.contains("security.yaml:8:"), "{extra}: the entry's line is named: {errors}");
    }
    assert!(load("security.yaml", &two_issuers(r#", "dev:acme-service""#), &|_| None).is_ok());
    // One issuer: an unqualified subject (and a `subject:<sub>` record) is its.
    let one = format!(
        "version: 1\nauth:\n  jwt:\n    main: {{ algorithms: [HS256], secret: \"{MAIN_SECRET}\" }}\n\
         consumers:\n  - {{ id: acme, jwt_subjects: [\"acme-service\"] }}\n\
         upstreams:\n  echo: {{ targets: [ {{ url: \"http://10.0.0.1:9001\" }} ] }}\n\
         routes:\n  - {{ id: jwt, path: /jwt, upstream: echo, auth: [\"jwt:main\"] }}\n"
    );
    let gw = gateway(&one);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    block_on(p.kv.put("subject:carol", Bytes::from_static(br#"{"id": "c"}"#), None)).expect("kv");
    send(&gw, &p, None, get("/jwt").header("authorization", format!("Bearer {}", token(MAIN_SECRET, "acme-service"))));
    assert_eq!(sent(&p).headers()["x-consumer-id"], "acme");
    send(&gw, &p, None, get("/jwt").header("authorization", format!("Bearer {}", token(MAIN_SECRET, "carol"))));
    assert_eq!(sent(&p).headers()["x-consumer-id"], "c");
}

// ---------------------------------------------------------------- finding 5

/// A key-value store whose reads wait one turn of the executor, like every
/// real store: concurrent requests interleave while credentials are checked.
#[derive(Default)]
struct SlowKv {
    inner: MemoryKv,
    reads: AtomicUsize,
}

struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl KeyValueStore for SlowKv {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let read = self.inner.get(key, now);
        async move {
            YieldOnce(false).await;
            read.await
        }
    }
    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.inner.put(key, value, expires_at)
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.inner.delete(key)
    }
}

/// Every port in memory but the key-value store, which yields.
type SlowPlatform = MemoryPlatform<ScriptedUpstream, ManualClock, SlowKv>;

fn slow_platform() -> SlowPlatform {
    let memory = MemoryPlatform::new(ScriptedUpstream::echo());
    MemoryPlatform::with_ports(memory.upstream, memory.clock, SlowKv::default())
}

fn keyed_config(extra_top: &str) -> String {
    format!(
        "version: 1\n{extra_top}auth_failures: {{ per_ip: 3, per: 1m }}\nauth:\n  api_key:\n    keys: {{ header: x-api-key }}\n\
         consumers:\n  - {{ id: acme, api_keys: [\"{}\"] }}\n\
         upstreams:\n  echo: {{ targets: [ {{ url: \"http://10.0.0.1:9001\" }} ] }}\n\
         routes:\n  - {{ id: keyed, path: /keyed, upstream: echo, auth: [\"api_key:keys\"] }}\n",
        api_key_stored_form("acme-key")
    )
}

fn burst(gw: &Gateway, p: &SlowPlatform, ips: &[&str], key: &str) -> Vec<StatusCode> {
    let requests = ips.iter().map(|ip| {
        let req = get("/keyed").header("x-api-key", key).body(Bytes::new()).expect("request");
        gw.handle(p, req, client(Some(ip)))
    });
    block_on(join_all(requests)).iter().map(Response::status).collect()
}

#[test]
fn finding_5a_a_concurrent_burst_gets_no_more_guesses_than_the_limit() {
    let gw = gateway(&keyed_config(""));
    let p = slow_platform();
    let statuses = burst(&gw, &p, &["192.0.2.1"; 50], "wrong-key");
    let evaluated = p.kv.reads.load(Ordering::SeqCst);
    assert_eq!(evaluated, 3, "guesses evaluated in a burst of 50 with per_ip 3");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 47);
    // Good credentials from the same address give their unit back: a burst
    // of good ones from a fresh address never locks it out.
    let good = burst(&gw, &p, &["192.0.2.2"; 20], "acme-key");
    assert!(good.iter().all(|s| *s == StatusCode::OK), "{good:?}");
    assert_eq!(
        burst(&gw, &p, &["192.0.2.2"; 3], "wrong").iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(),
        3
    );
}

#[test]
fn finding_5b_ipv6_clients_are_one_identity_per_prefix() {
    let gw = gateway(&keyed_config(""));
    let p = slow_platform();
    // Every guess from another address of one /64.
    let ips: Vec<String> = (1..=10).map(|n| format!("2001:db8:1:2::{n:x}")).collect();
    let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    let statuses = burst(&gw, &p, &refs, "wrong-key");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 3, "{statuses:?}");
    // Another /64 is another identity.
    assert_eq!(burst(&gw, &p, &["2001:db8:1:3::1"], "wrong")[0], StatusCode::UNAUTHORIZED);
    // A configured /48 makes both one.
    let gw48 = gateway(&keyed_config("ipv6_key_prefix: 48\n"));
    let p48 = slow_platform();
    let statuses =
        burst(&gw48, &p48, &["2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:1:4::1", "2001:db8:1:5::1"], "x");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 1, "{statuses:?}");
    assert!(load("x.yaml", &keyed_config("ipv6_key_prefix: 0\n"), &|_| None).is_err());
    assert!(load("x.yaml", &keyed_config("ipv6_key_prefix: 129\n"), &|_| None).is_err());
}

#[test]
fn finding_5b_ipv4_mapped_ipv6_is_the_ipv4_address() {
    let gw = gateway(&keyed_config(""));
    let p = slow_platform();
    let statuses = burst(&gw, &p, &["192.0.2.1", "::ffff:192.0.2.1", "::ffff:c000:201", "192.0.2.1"], "wrong-key");
    assert_eq!(
        statuses[3],
        StatusCode::TOO_MANY_REQUESTS,
        "the mapped form is a fourth guess of one address: {statuses:?}"
    );
    // IP rules see the IPv4 address too.
    let rules = gateway(
        "version: 1\nupstreams:\n  echo: { targets: [ { url: \"http://10.0.0.1:9001\" } ] }\n\
         routes:\n  - { id: deny, path: /d, upstream: echo, ip: { deny: [\"192.0.2.1\"] } }\n",
    );
    let mp = MemoryPlatform::new(ScriptedUpstream::echo());
    assert_eq!(send(&rules, &mp, Some("::ffff:192.0.2.1"), get("/d")).status(), StatusCode::FORBIDDEN);
    assert_eq!(send(&rules, &mp, Some("::ffff:192.0.2.2"), get("/d")).status(), StatusCode::OK);
    assert_eq!(sent(&mp).headers()["x-forwarded-for"], "192.0.2.2", "logs and headers carry the IPv4 form");
}

#[test]
fn finding_5c_without_a_client_address_the_limit_still_applies() {
    let gw = gateway(&keyed_config(""));
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let statuses: Vec<StatusCode> =
        (0..5).map(|_| send(&gw, &p, None, get("/keyed").header("x-api-key", "wrong")).status()).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Clients with an address are not blocked by the unknown ones.
    assert_eq!(
        send(&gw, &p, Some("192.0.2.1"), get("/keyed").header("x-api-key", "acme-key")).status(),
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- finding 8

#[test]
fn finding_8_identity_override_and_rewrite_headers_are_dropped_in_every_spelling() {
    let yaml = format!(
        r#"
version: 1
auth:
  jwt:
    main: {{ algorithms: [HS256], secret: "{MAIN_SECRET}", forward_claims: {{ sub: x-user-id }} }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: plain, path: /plain, upstream: echo, auth: ["jwt:main"] }}
"#
    );
    let gw = gateway(&yaml);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let spoofed = [
        "X_Consumer_Id",
        "x_consumer-id",
        "X_User_Id",
        "x-user_id",
        "X-Forwarded_For",
        "X_Real_IP",
        "X-HTTP-Method-Override",
        "X_HTTP_Method_Override",
        "X-Method-Override",
        "X-HTTP-Method",
        "X-Original-URL",
        "X_Original_URL",
        "X-Rewrite-URL",
        "X-Original-URI",
        "CF-Connecting-IP",
        "cf_connecting_ip",
        "True-Client-IP",
        "X-Client-IP",
        "X-Cluster-Client-IP",
        "Forwarded",
        "X-Forwarded-Prefix",
        "X-Forwarded-Port",
    ];
    let bearer = format!("Bearer {}", token(MAIN_SECRET, "alice"));
    let mut req = get("/plain").header("authorization", &bearer).header("x-kept", "1");
    for name in spoofed {
        req = req.header(name, "DELETE");
    }
    assert_eq!(send(&gw, &p, Some("192.0.2.1"), req).status(), StatusCode::OK);
    let up = sent(&p);
    let names: Vec<&str> = up.headers().keys().map(http::HeaderName::as_str).collect();
    for name in spoofed {
        let lower = name.to_ascii_lowercase();
        let kept: Vec<&str> = up.headers().get_all(lower.as_str()).iter().filter_map(|v| v.to_str().ok()).collect();
        assert!(!kept.contains(&"DELETE"), "{name} reached the upstream: {names:?}");
    }
    assert_eq!(up.headers()["x-user-id"], "alice");
    assert_eq!(up.headers()["x-kept"], "1", "other headers go on");
}

#[test]
fn finding_8_a_route_may_allow_method_override_but_never_a_path_override() {
    let yaml = format!(
        r#"
version: 1
auth:
  jwt:
    main: {{ algorithms: [HS256], secret: "{MAIN_SECRET}" }}
upstreams:
  echo: {{ targets: [ {{ url: "http://10.0.0.1:9001" }} ] }}
routes:
  - {{ id: override, path: /override, upstream: echo, auth: ["jwt:main"], allow_method_override: true }}
"#
    );
    let gw = gateway(&yaml);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let bearer = format!("Bearer {}", token(MAIN_SECRET, "alice"));
    let req = get("/override").header("authorization", &bearer).header("x-http-method-override", "PATCH");
    send(&gw, &p, Some("192.0.2.1"), req.header("x-original-url", "/admin"));
    let up = sent(&p);
    assert_eq!(up.headers()["x-http-method-override"], "PATCH", "allowed by the route");
    assert!(!up.headers().contains_key("x-original-url"), "path overrides are never allowed");
}

// ---------------------------------------------------------------- finding 9

#[test]
fn finding_9_query_edits_see_every_spelling_of_a_name() {
    let yaml = r#"
version: 1
upstreams:
  echo: { targets: [ { url: "http://10.0.0.1:9001" } ] }
routes:
  - id: edited
    path: /q
    upstream: echo
    request: { query: { set: { tenant: acme }, remove: [debug] } }
"#;
    let gw = gateway(yaml);
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    let uri = "/q?TENANT=other&Tenant=x&%54enant=y&ten%61nt=z&DEBUG=1&%44ebug=1&debug=1&DeBuG&keep=1&tenantx=2";
    assert_eq!(send(&gw, &p, Some("192.0.2.1"), get(uri)).status(), StatusCode::OK);
    assert_eq!(sent(&p).uri().query(), Some("keep=1&tenantx=2&tenant=acme"));
}
