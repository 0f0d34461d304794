//! Rate limits, quotas and `plans`.

use super::*;

/// How exact a rate limit must be across instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Durable Object / DynamoDB / memory: never more than the limit.
    #[default]
    Exact,
    /// KV / per-instance counting: cheaper, may admit somewhat more.
    Approximate,
}

/// What to do when the limiter store cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStoreError {
    /// 503 + `Retry-After`.
    #[default]
    Closed,
    /// Admit, log, count it.
    Open,
}

/// A route's `rate_limit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests admitted per `per` (at least 1).
    pub requests: u64,
    /// The period (more than 0); `approximate` counts in fixed windows of
    /// this length.
    pub per: ConfigDuration,
    /// `consumer | ip | route | header:NAME | claim:NAME`; default `consumer`.
    pub key: Option<String>,
    /// How exact the limit is across instances (default `exact`).
    #[serde(default)]
    pub consistency: Consistency,
    /// What to do when the limiter store cannot be reached (default `closed`).
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// A plan's `rate_limit` (always per consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRateConfig {
    /// Requests admitted per `per` (at least 1).
    pub requests: u64,
    /// The period (more than 0); `approximate` counts in fixed windows of
    /// this length.
    pub per: ConfigDuration,
    /// How exact the limit is across instances (default `exact`).
    #[serde(default)]
    pub consistency: Consistency,
    /// What to do when the limiter store cannot be reached (default `closed`).
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// A quota's calendar window (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPer {
    /// `day`: one UTC calendar day.
    Day,
    /// `month`: one UTC calendar month.
    Month,
}

/// A plan's `quota` (always exact, per consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests admitted per calendar window (at least 1).
    pub requests: u64,
    /// `day` or `month`, in UTC.
    pub per: QuotaPer,
    /// What to do when the limiter store cannot be reached (default `closed`).
    #[serde(default)]
    pub on_store_error: OnStoreError,
}

/// One entry of `plans`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// The consumer's request rate (`RateLimit` item `plan`).
    pub rate_limit: Option<PlanRateConfig>,
    /// The consumer's quota (`RateLimit` item `quota`).
    pub quota: Option<QuotaConfig>,
}
