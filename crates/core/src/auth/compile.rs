//! Compiles `auth`, `consumers`, `auth_failures` and each route's `auth`,
//! `scopes`, `ip` and `bind` into the structures of `crate::auth`.

use crate::auth::credentials::Source;
use crate::auth::failures::FailureLimit;
use crate::auth::jwt::JwtIssuer;
use crate::auth::policy::{IpPolicy, parse_net};
use crate::auth::{ApiKeyScheme, Auth, JwtScheme, Scheme, api_key, consumers::Consumers};
use crate::config::{CredentialSource, Parsed, Problems, RouteConfig};
use http::HeaderName;

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| format!("`{name}` is not a header name"))
}

fn source(cfg: Option<&CredentialSource>, default: Source) -> Result<Source, String> {
    let Some(cfg) = cfg else { return Ok(default) };
    match (&cfg.header, &cfg.query) {
        (Some(_), Some(_)) => Err("name a header or a query parameter, not both".into()),
        (None, None) => Ok(default),
        (Some(h), None) if h.eq_ignore_ascii_case("authorization") => Ok(Source::Bearer { also_query: None }),
        (Some(h), None) => header_name(h).map(Source::Header),
        (None, Some(q)) if q.is_empty() => Err("the query parameter name is empty".into()),
        (None, Some(q)) => Ok(match default {
            // A JWT may come from the query instead of the header, never from both.
            Source::Bearer { .. } => Source::Bearer { also_query: Some(q.clone()) },
            _ => Source::Query(q.clone()),
        }),
    }
}

pub(crate) fn compile(parsed: &Parsed, problems: &mut Problems) -> Auth {
    let cfg = &parsed.config;
    let mut jwt = Vec::new();
    for (name, issuer) in &cfg.auth.jwt {
        let at = parsed.loc(&["auth", "jwt", name]);
        let compiled = match JwtIssuer::compile(name, issuer) {
            Ok(i) => i,
            Err(messages) => {
                for m in messages {
                    problems.push(at, format!("auth.jwt.{name}: {m}"));
                }
                continue;
            }
        };
        let source = source(issuer.token.as_ref(), Source::Bearer { also_query: None })
            .map_err(|e| {
                problems.push(parsed.loc(&["auth", "jwt", name, "token"]), format!("auth.jwt.{name}.token: {e}"))
            })
            .unwrap_or(Source::Bearer { also_query: None });
        let mut forward_claims = Vec::new();
        for (claim, header) in &issuer.forward_claims {
            match header_name(header) {
                Ok(h) => forward_claims.push((claim.clone(), h)),
                Err(e) => problems.push(
                    parsed.loc(&["auth", "jwt", name, "forward_claims"]),
                    format!("auth.jwt.{name}.forward_claims: {e}"),
                ),
            }
        }
        jwt.push(JwtScheme { issuer: compiled, source, forward_claims });
    }
    let mut api_keys = Vec::new();
    for (name, key) in &cfg.auth.api_key {
        let at = parsed.loc(&["auth", "api_key", name]);
        let given = CredentialSource { header: key.header.clone(), query: key.query.clone() };
        if given.header.is_none() && given.query.is_none() {
            problems
                .push(at, format!("auth.api_key.{name}: name the `header` or the `query` parameter the key comes in"));
            continue;
        }
        match source(Some(&given), Source::Query(String::new())) {
            Ok(Source::Bearer { .. }) => problems.push(
                at,
                format!("auth.api_key.{name}: the Authorization header carries bearer tokens; use another header"),
            ),
            Ok(s) => api_keys.push(ApiKeyScheme { name: name.clone(), source: s }),
            Err(e) => problems.push(at, format!("auth.api_key.{name}: {e}")),
        }
    }
    let mut consumers = Consumers::default();
    let issuers: Vec<&str> = cfg.auth.jwt.keys().map(String::as_str).collect();
    if let [only] = issuers.as_slice() {
        consumers.sole_issuer = Some((*only).to_owned());
    }
    let consumer_nodes = parsed.tree.get("consumers").map(|(n, _)| n.items().to_vec()).unwrap_or_default();
    for (i, c) in cfg.consumers.iter().enumerate() {
        let at = consumer_nodes
            .get(i)
            .map_or(parsed.loc(&["consumers"]), |n| n.get("api_keys").map_or(n.loc, |(k, _)| k.loc));
        if c.id.is_empty() {
            problems.push(at, "consumer `id` is empty");
        }
        if consumers.ids.contains(&c.id) {
            problems.push(at, format!("duplicate consumer id `{}`", c.id));
        }
        consumers.ids.push(c.id.clone());
        for key in &c.api_keys {
            match api_key::parse_stored(key) {
                Ok(d) if consumers.keys.iter().any(|(k, _)| *k == d) => {
                    problems.push(at, format!("consumer `{}`: this API key is already given to another consumer", c.id))
                }
                Ok(d) => consumers.keys.push((d, c.id.clone())),
                Err(e) => problems.push(at, format!("consumer `{}`: {e}", c.id)),
            }
        }
        let subjects_at = consumer_nodes.get(i).and_then(|n| n.get("jwt_subjects")).map(|(n, _)| n);
        for (k, entry) in c.jwt_subjects.iter().enumerate() {
            let at = subjects_at.map_or(at, |n| n.items().get(k).map_or(n.loc, |item| item.loc));
            let (issuer, sub) = match crate::auth::consumers::qualify(entry, &issuers) {
                Ok(pair) => pair,
                Err(e) => {
                    problems.push(at, format!("consumer `{}`: {e}", c.id));
                    continue;
                }
            };
            if consumers.subjects.iter().any(|(i, s, _)| i == issuer && s == sub) {
                problems.push(at, format!("consumer `{}`: subject `{issuer}:{sub}` belongs to another consumer", c.id));
            }
            consumers.subjects.push((issuer.to_owned(), sub.to_owned(), c.id.clone()));
        }
    }
    let failures = match &cfg.auth_failures {
        None => FailureLimit::default(),
        Some(f) => {
            if f.per.0.is_zero() || f.per_ip == 0 {
                problems.push(parsed.loc(&["auth_failures"]), "auth_failures: `per_ip` and `per` must be more than 0");
            }
            FailureLimit { per_ip: f.per_ip, per: f.per.0 }
        }
    };
    let mut auth = Auth { jwt, api_keys, consumers, failures, identity_headers: Vec::new() };
    auth.identity_headers = super::claim_header_names(&auth);
    auth
}

/// A route's compiled security policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoutePolicy {
    pub schemes: Vec<Scheme>,
    pub scopes: Vec<String>,
    pub ip: Option<IpPolicy>,
    pub bind: Vec<(String, String)>,
    pub forward_credentials: bool,
}

pub(crate) fn route_policy(
    i: usize,
    cfg: &RouteConfig,
    params: &[String],
    auth: &Auth,
    parsed: &Parsed,
    problems: &mut Problems,
) -> RoutePolicy {
    let id = &cfg.id;
    let loc = |field: &str| parsed.route_loc(i, field);
    let mut schemes = Vec::new();
    for entry in &cfg.auth {
        let scheme = match entry.split_once(':') {
            Some(("jwt", name)) => auth.jwt.iter().position(|s| s.issuer.name == name).map(Scheme::Jwt),
            Some(("api_key", name)) => auth.api_keys.iter().position(|s| s.name == name).map(Scheme::ApiKey),
            _ => {
                problems.push(loc("auth"), format!("route `{id}`: `{entry}` is not `jwt:NAME` or `api_key:NAME`"));
                continue;
            }
        };
        match scheme {
            Some(s) => schemes.push(s),
            None => {
                let jwt_known = cfg_names(parsed, "jwt");
                let key_known = cfg_names(parsed, "api_key");
                // An issuer whose own config failed already has its error.
                if !(jwt_known.iter().any(|n| format!("jwt:{n}") == *entry)
                    || key_known.iter().any(|n| format!("api_key:{n}") == *entry))
                {
                    problems.push(loc("auth"), format!("route `{id}`: `{entry}` is not defined under `auth`"));
                }
            }
        }
    }
    if !cfg.scopes.is_empty() && cfg.auth.is_empty() {
        problems.push(loc("scopes"), format!("route `{id}`: `scopes` need `auth` on the route"));
    }
    let ip = cfg.ip.as_ref().map(|rules| {
        let mut policy = IpPolicy::default();
        for (list, out) in [(&rules.allow, &mut policy.allow), (&rules.deny, &mut policy.deny)] {
            for entry in list {
                match parse_net(entry) {
                    Ok(n) => out.push(n),
                    Err(e) => problems.push(loc("ip"), format!("route `{id}`: ip: {e}")),
                }
            }
        }
        policy
    });
    let mut bind = Vec::new();
    for (param, target) in &cfg.bind {
        if cfg.auth.is_empty() {
            problems.push(loc("bind"), format!("route `{id}`: `bind` needs `auth` on the route"));
            break;
        }
        if !params.contains(param) {
            problems.push(loc("bind"), format!("route `{id}`: bind: `{param}` is not a parameter of the route path"));
            continue;
        }
        match target.strip_prefix("claims.") {
            Some(claim) if !claim.is_empty() => bind.push((param.clone(), claim.to_owned())),
            _ => problems.push(loc("bind"), format!("route `{id}`: bind: `{target}` must be `claims.NAME`")),
        }
    }
    RoutePolicy { schemes, scopes: cfg.scopes.clone(), ip, bind, forward_credentials: cfg.forward_credentials }
}

fn cfg_names(parsed: &Parsed, kind: &str) -> Vec<String> {
    parsed
        .tree
        .get("auth")
        .and_then(|(a, _)| a.get(kind))
        .map(|(n, _)| n.entries().iter().map(|(k, _, _)| k.clone()).collect())
        .unwrap_or_default()
}
