//! The gateway as adapters use it: a compiled config (immutable, shared)
//! beside its run-time state, and the entry points — serve a request, answer
//! one the adapter refused, read plan usage, list and check the config.
//! `load` builds one; a reload builds a new one.

use crate::compiled::{self, CompiledConfig};
use crate::config::{self, ConfigErrors};
use crate::error::GatewayError;
use crate::platform::{Platform, Runtime, StoreError};
use crate::ratelimit::PlanUsage;
use crate::request::ClientInfo;
use crate::state::GatewayState;
use crate::summary::{PlanSummary, RouteSummary, UpstreamSummary};
use crate::target::{TargetFinding, TargetPlatform};
use crate::time::Timestamp;
use crate::upstream::bounds::ServerLimits;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use std::sync::Arc;

/// Reads and compiles a config; `file` names it in error messages.
pub fn load(file: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Gateway, ConfigErrors> {
    let parsed = config::parse(file, text, env)?;
    compiled::compile(parsed).map(|c| Gateway::new(Arc::new(c)))
}

/// A compiled config and the state of the process that serves it.
pub struct Gateway {
    config: Arc<CompiledConfig>,
    state: GatewayState,
}

impl Gateway {
    /// Serves `config` with fresh run-time state.
    pub fn new(config: Arc<CompiledConfig>) -> Self {
        let state = GatewayState::new(&config);
        Gateway { config, state }
    }

    /// The compiled config (cheap to share: an `Arc`).
    pub fn config(&self) -> &Arc<CompiledConfig> {
        &self.config
    }

    /// Handles one request end to end. Never panics on client or upstream
    /// input; every failure is answered as problem+json.
    pub async fn handle<P: Platform>(
        &self,
        platform: &P,
        request: Request<Bytes>,
        client: ClientInfo,
    ) -> Response<Bytes> {
        crate::pipeline::handle(&self.config, &self.state, platform, request, client).await
    }

    /// An answer the adapter must give before the core sees the request (a
    /// body over the limit while reading it, a request it cannot convert),
    /// with the same headers as any other gateway answer.
    pub fn reject<P: Platform>(
        &self,
        platform: &P,
        started: Timestamp,
        error: GatewayError,
        request_headers: &HeaderMap,
    ) -> Response<Bytes> {
        crate::pipeline::reject(&self.config, platform, started, error, request_headers)
    }

    /// The plan limits of `consumer` (a config consumer, or one issued at run
    /// time on `plan`) and what is left of them, exact where the store is.
    pub async fn plan_usage<P: Platform>(
        &self,
        platform: &P,
        consumer: &str,
        plan: Option<&str>,
    ) -> Result<Vec<PlanUsage>, StoreError> {
        let (config, state) = (&self.config, &self.state);
        crate::ratelimit::plan_usage(&config.plans, &state.limits, config.client_ip.v6_prefix, platform, consumer, plan)
            .await
    }

    /// The routes, as `tollgate check` lists them.
    pub fn routes(&self) -> Vec<RouteSummary> {
        crate::summary::routes(&self.config)
    }

    /// The plans, as `tollgate check` lists them.
    pub fn plans(&self) -> Vec<PlanSummary> {
        crate::summary::plans(&self.config)
    }

    /// The upstreams, as `tollgate check` lists them.
    pub fn upstreams(&self) -> Vec<UpstreamSummary> {
        crate::summary::upstreams(&self.config)
    }

    /// Warnings `check` gives whatever the target.
    pub fn check_warnings(&self) -> Vec<TargetFinding> {
        crate::target::check_warnings(&self.config)
    }

    /// What `runtime` cannot run of this config (errors only).
    pub fn unsupported_on(&self, runtime: Runtime) -> Vec<TargetFinding> {
        crate::target::unsupported_on(&self.config, runtime)
    }

    /// The config against one platform's limits (`check --target`).
    pub fn check_target(&self, target: TargetPlatform) -> Vec<TargetFinding> {
        crate::target::check_target(&self.config, target)
    }

    /// How many consumers the config names (more may live in the key-value store).
    pub fn consumer_count(&self) -> usize {
        self.config.consumer_count()
    }

    /// The request body limit, for adapters that must stop reading early.
    pub fn max_body_bytes(&self) -> u64 {
        self.config.max_body_bytes()
    }

    /// The header block limit, for adapters that size their parsers by it.
    pub fn max_header_bytes(&self) -> u64 {
        self.config.max_header_bytes()
    }

    /// `limits.max_upstream_body`: the largest upstream answer body read.
    pub fn max_upstream_body(&self) -> u64 {
        self.config.max_upstream_body()
    }

    /// The local server's connection cap and deadlines.
    pub fn server_limits(&self) -> &ServerLimits {
        self.config.server_limits()
    }
}
