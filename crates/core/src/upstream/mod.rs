//! Upstreams: the compiled targets (parsed URLs, weights, the effective
//! timeout, a binding or Lambda function) with their balancing, retry and
//! circuit-breaker policies; the resource bounds of `limits`; and calling
//! one: choose a target, send under a deadline, record the outcome, retry
//! within the budget.

mod balance;
pub(crate) mod bounds;
mod breaker;
mod call;
mod compile;
mod discovery;
mod retry;
mod state;

pub(crate) use call::{CallError, UpstreamPath, call, origin_form, refusal};
pub(crate) use compile::{DEFAULT_TIMEOUT, Upstream, compile};
pub(crate) use discovery::{MAX_TARGETS, ReplaceError, TargetsBody, refresh, replace, validate};
pub(crate) use state::UpstreamState;
