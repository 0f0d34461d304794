//! XML → JSON (`translate.response: xml_to_json`, spec §7) on a hostile
//! upstream answer: never a panic, bounded work (libFuzzer's `-timeout` and
//! `-rss_limit_mb` catch the rest), and the client gets either JSON of a size
//! linear in the input, a SOAP fault text cut to 1024 characters, or 502.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::GatewayError;

fuzz_target!(|data: &[u8]| {
    match tollgate_core::fuzzing::xml_to_json(data) {
        Ok(resp) => {
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers().get("content-type").map(|v| v.as_bytes()), Some(&b"application/json"[..]));
            let body = resp.body();
            assert!(body.len() <= 8 * data.len() + 64, "{} bytes of JSON from {} bytes of XML", body.len(), data.len());
            let value: serde_json::Value = serde_json::from_slice(body).expect("the answer is JSON");
            assert!(value.is_object(), "not an object: {value}");
        }
        Err(GatewayError::UpstreamFault { detail }) => {
            assert!(detail.chars().count() <= 1025, "fault detail of {} characters", detail.chars().count());
            assert!(!detail.is_empty());
        }
        Err(GatewayError::UpstreamBadResponse) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
