//! The gateway's run-time state in one process / isolate, beside the
//! immutable compiled config: what the features remember between requests
//! (rate-limit fast path and approximate counts, the failed-authentication
//! blocks and known-good credentials). A config reload may keep it.

use crate::auth::failures::FailureState;
use crate::ratelimit::RateLimitState;

/// Per-process memory of the features.
#[derive(Debug, Default)]
pub struct GatewayState {
    pub(crate) limits: RateLimitState,
    pub(crate) auth_failures: FailureState,
}
