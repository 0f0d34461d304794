//! The `tollgate` binary as a user runs it: `check` exit codes and messages,
//! and `serve` limits that only the local server enforces (header block and
//! streamed bodies), over real sockets.

mod support;

use std::process::Command;
use support::{raw, serve};

fn tollgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn check_accepts_the_example_and_prints_a_summary() {
    let out = tollgate()
        .args(["check", concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/gateway.yaml")])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok — 4 routes, 2 upstreams, 1 consumers"), "{stdout}");
    assert!(stdout.contains("users.get"), "{stdout}");
    assert!(stdout.contains("/v1/dashboard/{id} -> aggregate(user, echo)"), "{stdout}");
    assert!(stdout.contains("rate_limit rate 20/60s by ip, exact, on_store_error closed"), "{stdout}");
    assert!(stdout.contains("demo  rate 10/1s, quota 1000/day (demo-app)"), "{stdout}");
}

#[test]
fn check_reports_each_problem_as_file_line_col_and_exits_1() {
    let path = write_config(
        "bad.yaml",
        "version: 1\nroutes:\n  - { id: a, path: /a, upstream: nope }\n  - { id: b, path: b, upstream: nope }\n",
    );
    let out = tollgate().arg("check").arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let p = path.display().to_string();
    assert!(lines.iter().any(|l| l.starts_with(&format!("{p}:3:34: route `a`: unknown upstream `nope`"))), "{stderr}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{p}:4:20: route `b`: path `b` must start with `/`"))),
        "{stderr}"
    );
}

#[test]
fn check_missing_file_and_missing_env_fail() {
    let out = tollgate().args(["check", "/nonexistent/gateway.yaml"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config"));
    let path = write_config("env.yaml", "version: 1\nadmin: { token: \"${TOLLGATE_TEST_UNSET_VAR}\" }\n");
    let out = tollgate().arg("check").arg(&path).env_remove("TOLLGATE_TEST_UNSET_VAR").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(":2:17: environment variable `TOLLGATE_TEST_UNSET_VAR` is not set")
    );
}

#[test]
fn check_target_lambda_warns_about_long_timeouts_but_passes() {
    let path = write_config(
        "long.yaml",
        "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://127.0.0.1:1\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, timeout: 60s }\n",
    );
    let out = tollgate().arg("check").arg(&path).args(["--target", "lambda"]).output().expect("runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":5:46: warning: route `a`: timeout 60 s is longer than API Gateway's 29 s"), "{stderr}");
}

#[test]
fn check_target_warns_about_per_key_store_ceilings() {
    let path = write_config(
        "hot.yaml",
        "version: 1\nplans:\n  big: { rate_limit: { requests: 5000, per: 1s } }\nupstreams:\n  u: { targets: [ { url: \"http://127.0.0.1:1\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 10, per: 1s, key: route } }\n  - { id: b, path: /b, upstream: u, rate_limit: { requests: 10, per: 1s, key: route, consistency: approximate } }\n",
    );
    for (target, store) in [("cloudflare", "Durable Object"), ("lambda", "DynamoDB item")] {
        let out = tollgate().arg("check").arg(&path).args(["--target", target]).output().expect("runs");
        assert!(out.status.success(), "warnings only");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(":7:49: warning: route `a`: rate_limit: `key: route` sends every request"), "{stderr}");
        assert!(stderr.contains(store), "{stderr}");
        assert!(stderr.contains(":3:22: warning: plan `big`: plan: 5000 requests/s per key"), "{stderr}");
        assert!(!stderr.contains("route `b`"), "approximate limits do not hit the exact store: {stderr}");
    }
}

#[test]
fn check_target_cloudflare_warns_about_fan_out_past_the_subrequest_cap() {
    let legs: String = (0..60).map(|i| format!("        - {{ name: l{i}, upstream: u, path: /x{i} }}\n")).collect();
    let path = write_config(
        "wide.yaml",
        &format!(
            "version: 1\nupstreams:\n  u: {{ targets: [ {{ url: \"http://127.0.0.1:1\" }} ] }}\nroutes:\n  - id: wide\n    path: /wide\n    aggregate:\n      backends:\n{legs}"
        ),
    );
    let out = tollgate().arg("check").arg(&path).args(["--target", "cloudflare"]).output().expect("runs");
    assert!(out.status.success(), "a warning only");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: route `wide`: up to 62 subrequests per request (60 backends"), "{stderr}");
    let lambda = tollgate().arg("check").arg(&path).args(["--target", "lambda"]).output().expect("runs");
    assert!(!String::from_utf8_lossy(&lambda.stderr).contains("subrequests"));
}

const SMALL: &str = "version: 1\nlimits: { max_body_bytes: 10, max_header_bytes: 1024 }\nupstreams:\n  u: { targets: [ { url: \"http://127.0.0.1:9\" } ] }\nroutes:\n  - { id: a, path: \"/a\", upstream: u }\n";

#[test]
fn serve_answers_health_and_prints_its_address() {
    let server = serve("cli", SMALL);
    let resp = raw(&server.addr, b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"runtime\":\"local\""), "{resp}");
}

#[test]
fn serve_refuses_large_headers_with_431_problem() {
    let server = serve("cli", SMALL);
    let req = format!("GET /a HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "b".repeat(2000));
    let resp = raw(&server.addr, req.as_bytes());
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");
    assert!(resp.contains("application/problem+json"), "{resp}");
}

#[test]
fn serve_refuses_a_chunked_body_over_the_limit_with_413() {
    let server = serve("cli", SMALL);
    let req =
        b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n";
    let resp = raw(&server.addr, req);
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(resp.contains("application/problem+json") && resp.contains("x-request-id"), "{resp}");
}

#[test]
fn serve_answers_502_when_the_upstream_refuses() {
    let server = serve("cli", SMALL);
    let resp = raw(&server.addr, b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 502"), "{resp}");
    assert!(!resp.contains("127.0.0.1:9"), "no upstream address in the answer: {resp}");
}

#[test]
fn serve_survives_malformed_requests() {
    let server = serve("cli", SMALL);
    for junk in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /a%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://x/../../a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let _ = raw(&server.addr, junk);
    }
    let resp = raw(&server.addr, b"GET /_gateway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 200"), "still serving: {resp}");
}
