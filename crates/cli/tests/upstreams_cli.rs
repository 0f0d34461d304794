//! `tollgate upstreams show | set | reset` against a running `tollgate serve`.

mod support;

use std::process::Command;
use support::{serve, upstream};

fn tollgate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate")).args(args).output().expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn set_show_and_reset_an_upstreams_targets() {
    let (a, b) = (upstream(), upstream());
    let config = format!(
        "version: 1\nadmin: {{ token: cli-admin-token-1 }}\nupstreams:\n  svc: {{ targets: [ {{ url: \"http://{a}\" }} ] }}\nroutes:\n  - {{ id: svc, path: /svc, upstream: svc }}\n"
    );
    let server = serve("upstreams", &config);
    let base = format!("http://{}", server.addr);
    let admin = ["--admin", base.as_str(), "--token", "cli-admin-token-1"];
    let target = format!("http://{b}=7");

    let (ok, out, err) = tollgate(&[&["upstreams", "set", "svc", target.as_str()][..], &admin[..]].concat());
    assert!(ok, "{err}");
    let set: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(set["version"], 1);
    assert_eq!(set["targets"][0]["url"], format!("http://{b}"));
    assert_eq!(set["targets"][0]["weight"], 7);

    let (ok, out, _) = tollgate(&[&["upstreams", "show", "svc"][..], &admin[..]].concat());
    assert!(ok);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).expect("json")["source"], "run-time");

    // A stale version is refused with the gateway's problem, exit 1.
    let (ok, _, err) = tollgate(&[&["upstreams", "reset", "svc", "--if-match", "0"][..], &admin[..]].concat());
    assert!(!ok);
    assert!(err.contains("412") && err.contains("precondition-failed"), "{err}");
    let (ok, out, err) = tollgate(&[&["upstreams", "reset", "svc", "--if-match", "1"][..], &admin[..]].concat());
    assert!(ok, "{err}");
    let reset: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!((reset["version"].as_u64(), reset["source"].as_str()), (Some(2), Some("config")));

    // A bad target and a wrong token: exit 1, nothing changed.
    let (ok, _, err) = tollgate(&[&["upstreams", "set", "svc", "ftp://x"][..], &admin[..]].concat());
    assert!(!ok && err.contains("400"), "{err}");
    let (ok, _, err) = tollgate(&["upstreams", "show", "svc", "--admin", base.as_str(), "--token", "wrong"]);
    assert!(!ok && err.contains("401"), "{err}");
}
