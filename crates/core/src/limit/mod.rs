//! Pure rate-limit and quota decisions for the limiter stores of issue 4.
//!
//! Every store (the in-memory mutex, a Durable Object, a DynamoDB conditional
//! update) loads its stored value, calls one of these functions with the
//! current time from the clock port, and writes back what it is told to. The
//! functions do no I/O, never read the wall clock and never panic, so all
//! runtimes make exactly the same decision. The stores and the `RateLimit`
//! headers built from these outcomes come next.
//!
//! - [`gcra`]: rate limits (`rate_limit: { requests: N, per: 1s }`), the
//!   Generic Cell Rate Algorithm with a burst of `N`.
//! - [`window`]: quotas (`quota: { requests: N, per: day|month }`), fixed
//!   calendar windows in UTC.

pub mod gcra;
pub mod headers;
pub mod window;

pub use gcra::{Outcome, Rate};
pub use window::{Per, WindowOutcome};
