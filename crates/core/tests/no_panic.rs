//! Arbitrary input never panics the gateway: any path, any header bytes, any
//! config text. Properties of path normalisation hold for every accepted path.

use bytes::Bytes;
use futures_executor::block_on;
use proptest::prelude::*;
use tollgate_core::platform::memory::{MemoryPlatform, ScriptedUpstream};
use tollgate_core::uri::normalize::normalize;
use tollgate_core::{ClientInfo, load};

const CONFIG: &str = "version: 1\ncors: { allow_origins: [\"https://a.example\"] }\nupstreams:\n  u: { targets: [ { url: \"http://10.0.0.1:1\" } ] }\nroutes:\n  - { id: a, path: \"/a/{id}\", upstream: u, rewrite: \"/x/{query.q}/{id}\", request: { headers: { set: { x-h: \"{header.x-in}\" } }, query: { set: { k: \"{id}\" } } } }\n  - { id: b, path: \"/b/{*rest}\", upstream: u }\n";

fn path_chars() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("/".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("%".to_owned()),
            Just("%2e".to_owned()),
            Just("%2F".to_owned()),
            Just("%25".to_owned()),
            Just(";".to_owned()),
            Just("\\".to_owned()),
            "[a-zA-Z0-9_~-]{1,3}".prop_map(|s| s),
            "%[0-9a-fA-F]{2}".prop_map(|s| s),
        ],
        0..24,
    )
    .prop_map(|parts| format!("/{}", parts.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn normalised_paths_are_clean_and_stable(path in path_chars()) {
        if let Ok(n) = normalize(&path) {
            prop_assert!(n.starts_with('/'));
            prop_assert!(!n.contains("//"), "{n}");
            prop_assert!(!n.split('/').any(|s| s == "." || s == ".."), "{n}");
            prop_assert!(!n.to_ascii_lowercase().contains("%2f") && !n.contains('\\'), "{n}");
            prop_assert_eq!(normalize(&n), Ok(n.clone()));
        }
    }

    #[test]
    fn any_request_gets_an_answer(path in path_chars(), query in "[ -~]{0,20}", header in proptest::collection::vec(any::<u8>(), 0..40)) {
        let gateway = load("p.yaml", CONFIG, &|_| None).expect("config");
        let platform = MemoryPlatform::new(ScriptedUpstream::echo());
        let uri = format!("{path}?{}", query.replace(['#', ' '], ""));
        let mut builder = http::Request::builder().method("GET").uri(uri.as_str());
        if let Ok(v) = http::HeaderValue::from_bytes(&header) {
            builder = builder.header("x-in", v.clone()).header("origin", v.clone()).header("x-request-id", v);
        }
        if let Ok(req) = builder.body(Bytes::new()) {
            let resp = block_on(gateway.handle(&platform, req, ClientInfo::default()));
            prop_assert!(resp.headers().contains_key("x-request-id"));
            if resp.status().is_client_error() || resp.status().is_server_error() {
                prop_assert_eq!(&resp.headers()["content-type"], "application/problem+json");
            }
        }
    }

    #[test]
    fn any_config_text_gives_a_gateway_or_located_errors(text in "[ -~\n]{0,200}") {
        if let Err(errors) = load("c.yaml", &text, &|_| None) {
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(e.location.line >= 1 && e.location.col >= 1, "{e}");
            }
        }
    }
}
