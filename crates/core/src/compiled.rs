//! The compiled config: every feature's compiled part, built once from the
//! serde model with every semantic problem reported at its location (never a
//! panic, whatever the config). Immutable, `Send + Sync`, shared by every
//! request; the run-time state lives apart in [`crate::state::GatewayState`].

use crate::auth::{self, Auth};
use crate::client_ip::{self, ClientIpPolicy};
use crate::config::{self, ClientIpMode, ConfigErrors, Parsed};
use crate::cors::{self, Cors};
use crate::ratelimit::{self, Plans};
use crate::routing::{self, Route, RouteTable};
use crate::upstream::bounds::{self, Bounds, ServerLimits};
use crate::upstream::{self, Upstream};

/// A config, compiled: what the pipeline serves.
pub struct CompiledConfig {
    pub(crate) auth: Auth,
    pub(crate) routes: Vec<Route>,
    pub(crate) table: RouteTable,
    pub(crate) upstreams: Vec<Upstream>,
    pub(crate) cors: Option<Cors>,
    pub(crate) max_body_bytes: u64,
    pub(crate) max_header_bytes: u64,
    /// Upstream answer cap and the local server's connection bounds.
    pub(crate) bounds: Bounds,
    /// Which client address the config trusts, and how limits key it.
    pub(crate) client_ip: ClientIpPolicy,
    pub(crate) admin_token: Option<String>,
    pub(crate) plans: Plans,
}

impl CompiledConfig {
    /// The request body limit, for adapters that must stop reading early.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The header block limit, for adapters that size their parsers by it.
    pub fn max_header_bytes(&self) -> u64 {
        self.max_header_bytes
    }

    /// `limits.max_upstream_body`: the largest upstream answer body read.
    pub fn max_upstream_body(&self) -> u64 {
        self.bounds.max_upstream_body
    }

    /// The local server's connection cap and deadlines.
    pub fn server_limits(&self) -> &ServerLimits {
        &self.bounds.server
    }

    /// How many consumers the config names (more may live in the key-value store).
    pub fn consumer_count(&self) -> usize {
        self.auth.consumers.ids.len()
    }
}

/// Compiles a parsed config, or reports every problem in it.
pub(crate) fn compile(mut parsed: Parsed) -> Result<CompiledConfig, ConfigErrors> {
    let mut problems = std::mem::replace(&mut parsed.problems, config::Problems::new(""));
    let cfg = &parsed.config;
    let upstreams: Vec<Upstream> =
        cfg.upstreams.iter().map(|(name, u)| upstream::compile(name, u, &parsed, &mut problems)).collect();
    let auth = auth::compile(&parsed, &mut problems);
    let routes: Vec<Route> = cfg
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| routing::compile_route(i, r, &upstreams, &auth, &parsed, &mut problems))
        .collect();
    let plans = ratelimit::compile_plans(&parsed, &mut problems);
    let table = routing::build_table(&routes, &parsed, &mut problems);
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
    let v6_prefix = cfg.ipv6_key_prefix.unwrap_or(client_ip::DEFAULT_V6_PREFIX);
    if !(1..=128).contains(&v6_prefix) {
        problems.push(parsed.loc(&["ipv6_key_prefix"]), "ipv6_key_prefix must be between 1 and 128");
    }
    if !problems.is_empty() {
        return Err(problems.finish());
    }
    Ok(CompiledConfig {
        auth,
        routes,
        table,
        upstreams,
        cors,
        max_body_bytes: cfg.limits.max_body_bytes,
        max_header_bytes: cfg.limits.max_header_bytes,
        bounds,
        client_ip: ClientIpPolicy { mode: cfg.client_ip, trusted_hops: cfg.trusted_hops, v6_prefix },
        admin_token: cfg.admin.token.clone(),
        plans,
    })
}
