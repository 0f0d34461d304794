//! Rate limits and quotas (spec §3 `rate_limit`, `plans`): the policies
//! compiled from the config, the stage that checks every policy a request
//! falls under through the limiter port, the `consistency: approximate`
//! counting, the per-process state, and the usage read-out. The counting
//! rules themselves (GCRA, fixed windows) are `crate::limit`, which the
//! stores run.

mod approx;
mod compile;
mod stage;
mod state;
mod usage;

pub(crate) use compile::{KeySource, Measure, Plans, Policy, compile_plans, route_policy};
pub(crate) use stage::enforce;
pub(crate) use state::RateLimitState;
pub use usage::PlanUsage;
pub(crate) use usage::plan_usage;
