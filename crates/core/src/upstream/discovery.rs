//! Targets set at run time (`PUT /_gateway/upstreams/{name}/targets`),
//! shared by every instance through the key-value port: one record per
//! upstream, `{"version": N, "targets": [{"url", "weight"}] | null}` (`null`:
//! the config's list again). Each instance reads it at most every
//! [`REFRESH`], on the first call after that (no store call on other calls),
//! so a change reaches every instance within that time. A new version is
//! claimed through the limiter port (atomic on every platform: a Durable
//! Object, a DynamoDB conditional write, memory), so of two writers of the
//! same version exactly one wins.

use super::UpstreamState;
use super::compile::{DEFAULT_WEIGHT, MAX_WEIGHT, Target, Upstream, parse_target};
use crate::limit::Limit;
use crate::platform::{Clock, KeyValueStore, LimiterStore, Platform, StoreError};
use crate::time::Timestamp;
use bytes::Bytes;
use futures_util::future::{Either, select};
use serde::{Deserialize, Serialize};
use std::pin::pin;
use std::time::Duration;

/// How often an instance reads an upstream's run-time record.
pub(crate) const REFRESH: Duration = Duration::from_secs(15);
/// How long a read may take before the instance keeps what it has.
const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Most targets one upstream may have.
pub(crate) const MAX_TARGETS: usize = 64;
/// How long a claimed version stays claimed (versions only grow).
const CLAIM_FOR: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// One target as the record and the admin API write it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetRecord {
    pub url: String,
    #[serde(default)]
    pub weight: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    version: u64,
    targets: Option<Vec<TargetRecord>>,
}

/// The body of `PUT …/targets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetsBody {
    pub targets: Vec<TargetRecord>,
}

fn kv_key(upstream: &str) -> String {
    format!("upstream-targets:{upstream}")
}

/// The targets of a list, or every problem with it.
pub(crate) fn validate(list: &[TargetRecord]) -> Result<Vec<Target>, Vec<String>> {
    let mut problems = Vec::new();
    if list.is_empty() {
        problems.push("`targets` is empty".to_owned());
    }
    if list.len() > MAX_TARGETS {
        problems.push(format!("{} targets: at most {MAX_TARGETS}", list.len()));
    }
    let mut targets: Vec<Target> = Vec::with_capacity(list.len());
    // Where each parsed target stands in the list (a bad one is not parsed).
    let mut origin: Vec<usize> = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let weight = t.weight.unwrap_or(DEFAULT_WEIGHT);
        if weight > MAX_WEIGHT {
            problems.push(format!("targets[{i}]: weight {weight} is not between 0 and {MAX_WEIGHT}"));
        }
        match parse_target(&t.url) {
            Ok((scheme, authority, base_path)) => {
                let target = Target { scheme, authority, base_path, weight };
                if let Some(first) = targets.iter().position(|o| {
                    o.scheme == target.scheme && o.authority == target.authority && o.base_path == target.base_path
                }) {
                    let first = origin.get(first).copied().unwrap_or(first);
                    problems.push(format!("targets[{i}]: the same URL as targets[{first}]"));
                }
                targets.push(target);
                origin.push(i);
            }
            // The message names the place, not the URL (answers never show target addresses).
            Err(e) => problems.push(format!("targets[{i}]: {}", e.replace(&format!("`{}`", t.url), "the URL"))),
        }
    }
    if problems.is_empty() { Ok(targets) } else { Err(problems) }
}

fn parse_record(bytes: &[u8]) -> Result<(u64, Option<Vec<Target>>), String> {
    let record: Record = serde_json::from_slice(bytes).map_err(|e| format!("not a targets record: {e}"))?;
    let targets = match record.targets {
        None => None,
        Some(list) => Some(validate(&list).map_err(|p| p.join("; "))?),
    };
    Ok((record.version, targets))
}

async fn read<P: Platform>(platform: &P, upstream: &Upstream, now: Timestamp) -> Result<Option<Bytes>, StoreError> {
    let key = kv_key(&upstream.name);
    let get = pin!(platform.kv().get(&key, now));
    let deadline = pin!(platform.clock().sleep(READ_TIMEOUT));
    match select(get, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            Err(StoreError::new(crate::platform::StoreErrorKind::Timeout, "no answer within 1 s"))
        }
    }
}

/// Reads the upstream's record when it is due (one call per interval reads
/// it; the others go on with the targets they have); on any failure the
/// instance keeps its targets and tries again after [`REFRESH`].
pub(crate) async fn refresh<P: Platform>(platform: &P, upstream: &Upstream, state: &UpstreamState, now: Timestamp) {
    if upstream.special.is_some() || !state.claim_refresh(now, REFRESH) {
        return;
    }
    match read(platform, upstream, now).await {
        Ok(None) => state.apply(0, None, now),
        Ok(Some(bytes)) => match parse_record(&bytes) {
            Ok((version, targets)) => state.apply(version, targets, now),
            Err(e) => {
                tracing::warn!(upstream = %upstream.name, error = %e, "run-time targets record ignored");
                state.apply(0, None, now);
            }
        },
        Err(e) => {
            tracing::warn!(upstream = %upstream.name, error = %e, "run-time targets not read; keeping the current ones");
            state.apply(0, None, now);
        }
    }
}

/// Why a replacement was not made.
#[derive(Debug)]
pub(crate) enum ReplaceError {
    /// `If-Match` named another version, or another writer took the next one.
    Conflict {
        current: u64,
    },
    Store(StoreError),
}

/// Replaces the upstream's targets (`None`: back to the config's) as
/// version current + 1, if `if_match` (when given) is the current version.
/// Returns the new version.
pub(crate) async fn replace<P: Platform>(
    platform: &P,
    upstream: &Upstream,
    state: &UpstreamState,
    targets: Option<Vec<TargetRecord>>,
    if_match: Option<u64>,
) -> Result<u64, ReplaceError> {
    let now = platform.clock().now();
    // Read the current version from the store itself, not from the cache.
    let current = match read(platform, upstream, now).await.map_err(ReplaceError::Store)? {
        None => 0,
        Some(bytes) => parse_record(&bytes).map_or(0, |(v, _)| v),
    };
    if if_match.is_some_and(|m| m != current) {
        return Err(ReplaceError::Conflict { current });
    }
    let next = current + 1;
    let claim = Limit::Count { limit: 1, window_end: now.plus(CLAIM_FOR) };
    let key = format!("targets-version:{}:{next}", upstream.name);
    let won = platform.limiter().acquire(&key, &claim, 1, now).await.map_err(ReplaceError::Store)?.admitted;
    if !won {
        return Err(ReplaceError::Conflict { current });
    }
    let record = Record { version: next, targets: targets.clone() };
    let bytes = serde_json::to_vec(&record).map_err(|e| ReplaceError::Store(StoreError::invalid(e.to_string())))?;
    platform.kv().put(&kv_key(&upstream.name), Bytes::from(bytes), None).await.map_err(ReplaceError::Store)?;
    let compiled = targets.map(|list| validate(&list).unwrap_or_default());
    state.apply(next, compiled, now);
    Ok(next)
}
