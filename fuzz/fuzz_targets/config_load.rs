//! Config loading (`tollgate_core::load`): any text is either a gateway or a
//! non-empty list of problems, each located in the file (`file:line:col`
//! with a line that exists) and saying something; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn env(name: &str) -> Option<String> {
    match name {
        "SECRET" => Some("a-secret-of-at-least-thirty-two-bytes!".to_owned()),
        "PORT" => Some("9001".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match tollgate_core::load("fuzz.yaml", text, &env) {
        Ok(gateway) => {
            // What `tollgate check` prints must be computable too.
            let _ = (gateway.routes(), gateway.plans(), gateway.upstreams(), gateway.consumer_count());
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a problem for {text:?}");
            // YAML line breaks: LF, CRLF and a bare CR (YAML 1.2 §5.4).
            let breaks = text.replace("\r\n", "\n").bytes().filter(|&b| b == b'\n' || b == b'\r').count();
            // yaml-rust2 puts the end of the stream at the start of the line
            // after the last one, hence the `+ 2`.
            let lines = u32::try_from(breaks + 2).unwrap_or(u32::MAX);
            for e in &errors.0 {
                assert_eq!(e.file, "fuzz.yaml");
                assert!(e.location.line >= 1 && e.location.col >= 1, "unlocated: {e} for {text:?}");
                assert!(
                    e.location.line <= lines,
                    "line {} past the end ({lines} lines): {e} for {text:?}",
                    e.location.line
                );
                assert!(!e.message.trim().is_empty(), "empty message at {e} for {text:?}");
            }
        }
    }
});
