//! The gateway's run-time state in one process / isolate, beside the
//! immutable compiled config: what the features remember between requests
//! (rate-limit fast path and approximate counts, the failed-authentication
//! blocks and known-good credentials, the JWKS caches).

use crate::auth::AuthState;
use crate::compiled::CompiledConfig;
use crate::ratelimit::RateLimitState;
use crate::upstream::UpstreamState;

/// Per-process memory of the features, for one compiled config.
pub struct GatewayState {
    pub(crate) limits: RateLimitState,
    pub(crate) auth: AuthState,
    /// Balancing, breakers and retry budget, one per upstream (config order).
    pub(crate) upstreams: Vec<UpstreamState>,
}

impl GatewayState {
    /// Fresh state for `config`.
    pub fn new(config: &CompiledConfig) -> Self {
        GatewayState {
            limits: RateLimitState::default(),
            auth: AuthState::new(&config.auth),
            upstreams: config.upstreams.iter().map(|u| UpstreamState::new(u.targets.len())).collect(),
        }
    }
}
