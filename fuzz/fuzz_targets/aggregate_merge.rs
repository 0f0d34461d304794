//! Aggregation merge (spec §3 `aggregate`): three legs answer arbitrary
//! bodies (NUL-separated in the input). `a` selects `[id, name,
//! address.city, items.0]` and is required, `b` extracts `data.items`, `c`
//! is kept whole. Whatever the legs answer, the merged object holds only the
//! legs' names and `_errors`; `a`'s value holds no field its allowlist does
//! not name and every named field that was there, with its value; `b` is the
//! extracted value or an error; `c` is its answer as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const SELECT: [&[&str]; 4] = [&["id"], &["name"], &["address", "city"], &["items", "0"]];

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |at, key| match at {
        Value::Object(m) => m.get(*key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Every key of `out` lies on a selected path; a selected path ends where
/// the whole value is allowed.
fn only_selected(out: &Map<String, Value>, prefix: &[&str]) {
    for (key, value) in out {
        let mut path = prefix.to_vec();
        path.push(key);
        if SELECT.contains(&path.as_slice()) {
            continue;
        }
        assert!(SELECT.iter().any(|p| p.starts_with(&path)), "field {path:?} is not selected");
        let Value::Object(inner) = value else { panic!("{path:?} leads to a selected field but is {value}") };
        only_selected(inner, &path);
    }
}

fn check_select(input: &Value, output: &Value) {
    match input {
        Value::Array(items) => {
            let Value::Array(outs) = output else { panic!("an array became {output}") };
            assert_eq!(items.len(), outs.len());
            for (i, o) in items.iter().zip(outs) {
                check_select(i, o);
            }
        }
        Value::Object(_) => {
            let Value::Object(out) = output else { panic!("an object became {output}") };
            only_selected(out, &[]);
            for path in SELECT {
                assert_eq!(get(output, path), get(input, path), "selected field {path:?}");
            }
        }
        _ => assert_eq!(output, &Value::Object(Map::new()), "a scalar answer selects to {{}}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let (a, b, c) = (parts.next().unwrap_or(b""), parts.next().unwrap_or(b""), parts.next().unwrap_or(b""));
    let (status, body) = tollgate_core::fuzzing::aggregate(a, b, c).expect("the legs answer at once");
    // The merged answer nests each leg one level deeper: stay clear of
    // serde_json's depth limit (128) when reading it back.
    if data.iter().filter(|&&b| b == b'[' || b == b'{').count() > 100 {
        return;
    }
    // As the gateway prints it and a client reads it back (serde_json's
    // float parsing is not exact without `float_roundtrip`).
    let json = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .map(|v| serde_json::from_str::<Value>(&v.to_string()).expect("reparse"))
    };
    let Some(a_in) = json(a) else {
        assert_eq!(status, 502, "a required leg that answered no JSON");
        return;
    };
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let merged: Value = serde_json::from_slice(&body).expect("the merged answer is JSON");
    let Value::Object(merged) = merged else { panic!("not an object: {merged}") };
    assert!(merged.keys().all(|k| ["a", "b", "c", "_errors"].contains(&k.as_str())), "{merged:?}");
    check_select(&a_in, merged.get("a").expect("leg a"));
    let errors = merged.get("_errors");
    let failed = |leg: &str| errors.and_then(|e| e.get(leg)).is_some();
    match json(b).as_ref().and_then(|v| get(v, &["data", "items"])) {
        Some(v) => assert_eq!(merged.get("b"), Some(v), "extracted data.items"),
        None => assert!(merged.get("b").is_none() && failed("b"), "b without data.items: {merged:?}"),
    }
    match json(c) {
        Some(v) => assert_eq!(merged.get("c"), Some(&v)),
        None => assert!(merged.get("c").is_none() && failed("c"), "c without JSON: {merged:?}"),
    }
    assert!(!failed("a"));
});
