//! Upstreams that are not plain HTTP: `binding` (a Workers service binding)
//! and `lambda` (a direct Lambda invoke). The core marks their requests for
//! the adapter; `check --target` and the adapters refuse a kind the platform
//! cannot reach.

use bytes::Bytes;
use futures_executor::block_on;
use http::{Request, StatusCode};
use tollgate_core::platform::memory::{MemoryPlatform, ScriptedUpstream};
use tollgate_core::platform::{Runtime, UpstreamTarget};
use tollgate_core::{ClientInfo, TargetPlatform, load};

const YAML: &str = "version: 1
upstreams:
  orders: { binding: ORDERS }
  pricing: { lambda: pricing-fn, timeout: 3s }
routes:
  - { id: orders, path: \"/orders/{*rest}\", upstream: orders }
  - { id: price, path: /price, upstream: pricing, rewrite: /v1/price }
";

#[test]
fn requests_to_a_binding_or_a_function_carry_their_target() {
    let gw = load("kinds.yaml", YAML, &|_| None).expect("config loads");
    let p = MemoryPlatform::new(ScriptedUpstream::echo());
    for (uri, want, host, path) in [
        ("/orders/7?x=1", UpstreamTarget::Binding("ORDERS".into()), "binding.internal", "/orders/7"),
        ("/price", UpstreamTarget::Lambda("pricing-fn".into()), "lambda.internal", "/v1/price"),
    ] {
        let req = Request::builder().uri(uri).header("host", "gw").body(Bytes::new()).expect("request");
        let resp = block_on(gw.handle(&p, req, ClientInfo::default()));
        assert_eq!(resp.status(), StatusCode::OK);
        let sent = p.upstream.requests().pop().expect("sent");
        assert_eq!(sent.extensions().get::<UpstreamTarget>(), Some(&want));
        assert_eq!(sent.uri().host(), Some(host));
        assert_eq!(sent.uri().path(), path);
    }
}

#[test]
fn a_kind_the_platform_cannot_reach_is_an_error_there() {
    let gw = load("kinds.yaml", YAML, &|_| None).expect("config loads");
    let lambda = gw.check_target(TargetPlatform::Lambda);
    assert!(lambda.iter().any(|f| f.error && f.message.contains("`binding: ORDERS` is a Workers service binding")));
    assert!(lambda.iter().all(|f| !f.message.contains("pricing")));
    assert_eq!((lambda[0].location.line, lambda[0].location.col), (3, 22));
    let workers = gw.check_target(TargetPlatform::Cloudflare);
    assert!(workers.iter().any(|f| f.error && f.message.contains("`lambda: pricing-fn` is a direct Lambda invoke")));
    assert!(workers.iter().all(|f| !f.message.contains("ORDERS")));
    let local = gw.unsupported_on(Runtime::Local);
    assert_eq!(local.len(), 2, "{local:?}");
    assert_eq!(gw.unsupported_on(Runtime::Cloudflare).len(), 1);
    assert_eq!(gw.unsupported_on(Runtime::Lambda).len(), 1);
}

#[test]
fn kinds_are_exclusive_and_names_are_checked() {
    for (yaml, want) in [
        (
            "version: 1\nupstreams:\n  u: { binding: A, lambda: b }\n",
            "give one of `targets`, `binding` or `lambda`, not several",
        ),
        ("version: 1\nupstreams:\n  u: { binding: A, targets: [ { url: \"http://a\" } ] }\n", "not several"),
        ("version: 1\nupstreams:\n  u: { lambda: \"bad name!\" }\n", "`bad name!` is not a valid lambda name"),
        ("version: 1\nupstreams:\n  u: { timeout: 1s }\n", "has no targets (or `binding` / `lambda`)"),
    ] {
        let err = load("k.yaml", yaml, &|_| None).err().expect("refused").to_string();
        assert!(err.contains(want), "{yaml}: {err}");
        assert!(err.contains("k.yaml:3:"), "located: {err}");
    }
}
