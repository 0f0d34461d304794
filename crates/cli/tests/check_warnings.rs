//! `tollgate check` warnings that need no `--target` (issue 9, finding 7): a
//! rate limit keyed by something the client chooses (`header:NAME`) on a
//! route without `auth` is reported as `file:line:col: warning: …` (exit 0),
//! with or without `--target`, once.

use std::process::Command;

fn tollgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-check-warnings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// `line:col` (1-based) of the first `{ requests` on the line holding `id: <id>,`.
fn rate_limit_at(text: &str, id: &str) -> String {
    let (n, line) = text.lines().enumerate().find(|(_, l)| l.contains(&format!("id: {id},"))).expect("the route");
    let col = line.find("{ requests").expect("a rate limit") + 1;
    format!("{}:{col}", n + 1)
}

const CONFIG: &str = "version: 1
auth:
  api_key:
    keys: { header: x-api-key }
upstreams:
  u: { targets: [ { url: \"http://127.0.0.1:1\" } ] }
routes:
  - { id: open-tenant, path: /a, upstream: u, rate_limit: { requests: 10, per: 1m, key: \"header:x-tenant\" } }
  - { id: open-approx, path: /b, upstream: u, rate_limit: { requests: 10, per: 1m, key: \"header:X-Org\", consistency: approximate } }
  - { id: keyed-tenant, path: /c, upstream: u, auth: [\"api_key:keys\"], rate_limit: { requests: 10, per: 1m, key: \"header:x-tenant\" } }
  - { id: open-ip, path: /d, upstream: u, rate_limit: { requests: 10, per: 1m, key: ip } }
  - { id: open-consumer, path: /e, upstream: u, rate_limit: { requests: 10, per: 1m } }
  - { id: open-route, path: /f, upstream: u, rate_limit: { requests: 10, per: 1m, key: route, consistency: approximate } }
  - { id: open-empty-auth, path: /g, upstream: u, auth: [], rate_limit: { requests: 10, per: 1m, key: \"header:x-tenant\" } }
";

#[test]
fn check_warns_about_client_chosen_limit_keys_on_routes_without_auth() {
    let path = write_config("client-keys.yaml", CONFIG);
    let p = path.display().to_string();
    for target in [None, Some("cloudflare"), Some("lambda")] {
        let mut cmd = tollgate();
        cmd.arg("check").arg(&path);
        if let Some(t) = target {
            cmd.args(["--target", t]);
        }
        let out = cmd.output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "warnings only ({target:?}): {stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("ok — 7 routes"), "the summary is still printed");
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("chosen by the client")).collect();
        for id in ["open-tenant", "open-approx", "open-empty-auth"] {
            let prefix = format!("{p}:{}: warning: route `{id}`: rate_limit: `key: header:", rate_limit_at(CONFIG, id));
            assert_eq!(
                warnings.iter().filter(|l| l.starts_with(&prefix)).count(),
                1,
                "one warning for {id} ({target:?}) starting {prefix}: {stderr}"
            );
        }
        assert_eq!(warnings.len(), 3, "only public routes keyed by a header ({target:?}): {stderr}");
        for quiet in ["keyed-tenant", "open-ip", "open-consumer", "open-route"] {
            assert!(!stderr.contains(&format!("route `{quiet}`: rate_limit: `key: header")), "{quiet}: {stderr}");
        }
    }
}

#[test]
fn the_warning_names_the_header_and_says_what_a_new_key_costs() {
    let path = write_config("client-keys-text.yaml", CONFIG);
    let out = tollgate().arg("check").arg(&path).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("route `open-tenant`")).expect("a warning");
    assert!(line.contains("`key: header:x-tenant`"), "{line}");
    assert!(line.contains("without `auth`"), "{line}");
    assert!(line.contains("Durable Object") && line.contains("DynamoDB"), "{line}");
    // The header name is shown as configured (names are case-insensitive; the compiled name is lower case).
    let approx = stderr.lines().find(|l| l.contains("route `open-approx`")).expect("a warning");
    assert!(approx.contains("`key: header:x-org`"), "{approx}");
}

#[test]
fn a_config_without_client_chosen_keys_on_public_routes_prints_no_warning() {
    let text = "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://127.0.0.1:1\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 10, per: 1m, key: ip } }\n";
    let path = write_config("quiet.yaml", text);
    let out = tollgate().arg("check").arg(&path).output().expect("runs");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
}
