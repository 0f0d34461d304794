//! Config problems: each bad config gives a located message naming the
//! problem, and one file with many mistakes reports all of them.

use tollgate_core::load;

fn errors(yaml: &str) -> Vec<String> {
    match load("gw.yaml", yaml, &|k| (k == "SET").then(|| "value".to_owned())) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

const UP: &str = "upstreams:\n  u: { targets: [ { url: \"http://127.0.0.1:1\" } ] }\n";

#[test]
fn each_bad_config_is_reported_where_it_is() {
    let cases: &[(&str, &str)] = &[
        ("", "gw.yaml:1:1: the config is empty"),
        ("version: 2\n", "gw.yaml:1:10: unsupported config version 2"),
        ("routes: []\n", "missing `version: 1`"),
        ("version: 1\nbogus: 1\n", "gw.yaml:2:1: unknown top-level key `bogus`"),
        ("version: 1\nstore: {}\n", "gw.yaml:2:1: top-level key `store`: external state stores is not built yet"),
        ("version: 1\nplans: []\n", "gw.yaml:2:8: `plans` must be a map"),
        (
            "version: 1\nplans:\n  free: { quota: { requests: 10, per: week } }\n",
            "gw.yaml:3:34: plan `free`: quota.per: unknown variant `week`, expected `day` or `month`",
        ),
        (
            "version: 1\nplans:\n  free: { rate_limit: { requests: 0, per: 1s } }\n",
            "gw.yaml:3:23: plan `free`: rate_limit: `requests` must be at least 1",
        ),
        (
            "version: 1\nplans:\n  free: { rate_limit: { requests: 5, per: 1s, key: ip } }\n",
            "plan `free`: rate_limit: unknown field `key`",
        ),
        (
            "version: 1\nconsumers:\n  - { id: a, plan: gold }\n",
            "gw.yaml:3:20: consumer `a`: unknown plan `gold` (plans: none are defined)",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 5, per: 0s } }\n",
            "gw.yaml:5:49: route `a`: rate_limit: `per` must be longer than 0",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 5, per: 1s, key: user } }\n",
            "route `a`: rate_limit: key `user`: use consumer, ip, route, header:NAME or claim:NAME",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 5, per: 1s, key: \"claim:sub\" } }\n",
            "route `a`: rate_limit: key `claim:sub` needs a jwt scheme in the route's `auth`",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, rate_limit: { requests: 5, per: 1s, consistency: eventual } }\n",
            "unknown variant `eventual`",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ] }\nroutes:\n  - { id: a, path: /a, upstream: u, translate: { request: { soap: { action: A, body: \"<A>{claims.sub}</A>\" } }, response: xml_to_json } }\n",
            "route `a`: `{claims.*}` and `{consumer.id}` need `auth` on the route",
        ),
        ("version: 1\nx: [\n", "not valid YAML"),
        ("version: 1\nversion: 1\n", "gw.yaml:2:1: duplicate key `version`"),
        ("version: 1\nadmin: { token: \"${MISSING}\" }\n", "gw.yaml:2:17: environment variable `MISSING` is not set"),
        ("version: 1\nlimits: { max_body_bytes: -1 }\n", "gw.yaml:2:"),
        ("version: 1\ncors: { allow_origins: [\"*\"], allow_credentials: true }\n", "cannot be combined"),
        ("version: 1\ncors: { allow_origins: [\"https://a.example/path\"] }\n", "is not an origin"),
        ("version: 1\nupstreams:\n  u: { targets: [] }\n", "upstream `u` has no targets"),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"ftp://x\" } ] }\n",
            "gw.yaml:3:26: upstream `u`: `ftp://x`: only http and https",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], health_check: {} }\n",
            "upstream key `health_check`: health checks is not built yet",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], retries: {} }\n",
            "missing field `attempts`",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], retries: { attempts: 11 } }\n",
            "gw.yaml:3:",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], retries: { attempts: 1, on: [reset] } }\n",
            "`reset` is not `connect`, `timeout` or a status code",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\", weight: 1001 } ] }\n",
            "weight must be between 0 and 1000",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], balance: fastest }\n",
            "unknown variant `fastest`",
        ),
        (
            "version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], circuit_breaker: { failures: 0 } }\n",
            "circuit_breaker.failures must be at least 1",
        ),
        ("version: 1\nupstreams:\n  u: { targets: [ { url: \"http://a\" } ], timeout: 5 }\n", "expected a duration"),
        (
            "version: 1\nroutes:\n  - { id: a, path: /a, upstream: nope }\n",
            "gw.yaml:3:34: route `a`: unknown upstream `nope`",
        ),
    ];
    for (yaml, want) in cases {
        let errs = errors(yaml);
        assert!(errs.iter().any(|e| e.contains(want)), "{yaml:?}: wanted {want:?} in {errs:#?}");
    }
}

#[test]
fn route_problems_are_all_reported() {
    let yaml = format!(
        "version: 1\n{UP}routes:\n  - {{ id: a, path: a, upstream: u }}\n  - {{ id: a, path: /b, upstream: u, methods: [\"G E T\"] }}\n  - {{ id: c, path: /c, upstream: u, rewrite: \"/x/{{id}}\" }}\n  - {{ id: d, path: /_gateway/x, upstream: u }}\n  - {{ id: e, path: /e, upstream: u, cache: {{}} }}\n  - {{ id: f, path: /b, upstream: u, methods: [GET] }}\n  - {{ id: g, path: \"/g/{{x}}\", upstream: u, request: {{ headers: {{ set: {{ \"bad header\": v }} }} }} }}\n"
    );
    let errs = errors(&yaml);
    let wanted = [
        "gw.yaml:5:20: route `a`: path `a` must start with `/`",
        "gw.yaml:6:11: duplicate route id `a`",
        "is not an HTTP method",
        "gw.yaml:7:46: route `c`: rewrite: `{id}` is not a parameter",
        "`/_gateway/` is reserved",
        "route key `cache`: response caching is not built yet",
        "`methods` is empty",
        "`bad header` is not a header name",
    ];
    for w in wanted {
        assert!(errs.iter().any(|e| e.contains(w)), "wanted {w:?} in {errs:#?}");
    }
}

#[test]
fn overlapping_methods_on_one_path_are_an_error() {
    let yaml = format!(
        "version: 1\n{UP}routes:\n  - {{ id: a, path: /x, upstream: u, methods: [GET] }}\n  - {{ id: b, path: /x, upstream: u }}\n"
    );
    let errs = errors(&yaml);
    assert!(errs.iter().any(|e| e.contains("routes `a` and `b` both answer the same method on `/x`")), "{errs:#?}");
}

#[test]
fn conflicting_patterns_are_an_error() {
    let yaml = format!(
        "version: 1\n{UP}routes:\n  - {{ id: a, path: \"/x/{{id}}\", upstream: u }}\n  - {{ id: b, path: \"/x/{{name}}\", upstream: u }}\n"
    );
    let errs = errors(&yaml);
    assert!(errs.iter().any(|e| e.starts_with("gw.yaml:6:20: route `b`") && e.contains("conflict")), "{errs:#?}");
}

#[test]
fn an_unset_variable_is_reported_once() {
    let errs = errors("version: 1\nupstreams:\n  u: { targets: [ { url: \"${NOPE}\" } ] }\n");
    assert_eq!(errs, vec!["gw.yaml:3:26: environment variable `NOPE` is not set".to_owned()]);
}

#[test]
fn env_values_are_substituted_and_json_is_accepted() {
    let yaml = "{\"version\": 1, \"upstreams\": {\"u\": {\"targets\": [{\"url\": \"http://127.0.0.1:1\"}]}}, \"routes\": [{\"id\": \"a\", \"path\": \"/a\", \"upstream\": \"u\", \"request\": {\"headers\": {\"set\": {\"x-v\": \"${SET}\"}}}}]}";
    assert_eq!(errors(yaml), Vec::<String>::new());
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "\u{0}",
        "- - - -",
        "version: 1\nroutes: 5\n",
        "version: 1\nupstreams: []\n",
        "&a [*a]",
        "version: 1\nroutes:\n  - *x\n",
        "version: !!binary aGVsbG8=\n",
        "version: 1\nroutes:\n  - { id: a, path: \"/{\", upstream: u }\n",
        "version: 1\nroutes:\n  - { id: a, path: \"/a/{*r}/b\", upstream: u }\n",
        "version: 99999999999999999999999\n",
        "? [a, b]\n: c\n",
    ];
    for input in inputs {
        let _ = errors(input);
    }
}
