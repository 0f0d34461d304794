//! Compile: the serde model into the immutable structures the hot path uses
//! (route table, parsed targets, templates, CORS policy), reporting every
//! semantic problem with its location. Never panics on any config.

pub(crate) mod auth;
pub(crate) mod bounds;
pub(crate) mod cors;
pub(crate) mod limit;
pub(crate) mod route;
pub(crate) mod template;
pub(crate) mod upstream;

use crate::Gateway;
use crate::config::{self, ClientIpMode, ConfigErrors, Parsed};

/// Reads and compiles a config; `file` names it in error messages.
pub fn load(file: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Gateway, ConfigErrors> {
    let parsed = config::parse(file, text, env)?;
    compile(parsed)
}

fn compile(mut parsed: Parsed) -> Result<Gateway, ConfigErrors> {
    let mut problems = std::mem::replace(&mut parsed.problems, config::Problems::new(""));
    let cfg = &parsed.config;
    let upstreams: Vec<upstream::Upstream> =
        cfg.upstreams.iter().map(|(name, u)| upstream::compile(name, u, &parsed, &mut problems)).collect();
    let auth = auth::compile(&parsed, &mut problems);
    let routes: Vec<route::Route> = cfg
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| route::compile_route(i, r, &upstreams, &auth, &parsed, &mut problems))
        .collect();
    let plans = limit::compile_plans(&parsed, &mut problems);
    let table = route::build_table(&routes, &parsed, &mut problems);
    let cors = cfg.cors.as_ref().map(|c| cors::compile(c, &parsed, &mut problems));
    if let Some(token) = &cfg.admin.token
        && token.trim().is_empty()
    {
        problems.push(parsed.loc(&["admin", "token"]), "admin.token is empty");
    }
    let bounds = bounds::compile(&parsed, &mut problems);
    if cfg.limits.max_header_bytes < 1024 {
        problems.push(parsed.loc(&["limits", "max_header_bytes"]), "limits.max_header_bytes must be at least 1024");
    }
    if cfg.client_ip == ClientIpMode::XForwardedFor && cfg.trusted_hops == 0 {
        problems.push(parsed.loc(&["trusted_hops"]), "trusted_hops must be at least 1");
    }
    let ipv6_key_prefix = cfg.ipv6_key_prefix.unwrap_or(crate::client_ip::DEFAULT_V6_PREFIX);
    if !(1..=128).contains(&ipv6_key_prefix) {
        problems.push(parsed.loc(&["ipv6_key_prefix"]), "ipv6_key_prefix must be between 1 and 128");
    }
    if !problems.is_empty() {
        return Err(problems.finish());
    }
    let identity_headers = crate::auth::claim_header_names(&auth);
    Ok(Gateway {
        auth,
        identity_headers,
        routes,
        table,
        upstreams,
        cors,
        max_body_bytes: cfg.limits.max_body_bytes,
        max_header_bytes: cfg.limits.max_header_bytes,
        bounds,
        client_ip: cfg.client_ip,
        trusted_hops: cfg.trusted_hops,
        ipv6_key_prefix,
        admin_token: cfg.admin.token.clone(),
        plans,
        limiter: crate::pipeline::limit::LimiterState::default(),
    })
}
