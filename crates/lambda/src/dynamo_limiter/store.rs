//! [`DynamoLimiter`]: the limiter port on one table — sends the
//! conditional writes of [`super::ops`], retries with the shape
//! [`super::decide`] picks, remembers per key whether it looked live.

use super::decide::{Next, after_conflict, after_update, live_value, refund_after_conflict};
use super::ops::{Action, Item, MAX_ATTEMPTS, Op, Refund, Shape, acquire_op, item_key, release_op};
use crate::dynamo_kv::PK;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tollgate_core::limit::{self, Decision, Limit};
use tollgate_core::platform::memory::bounded::ExpiryMap;
use tollgate_core::platform::{LimiterStore, MaybeSend, StoreError, StoreErrorKind, Timestamp};

/// Keys whose last seen state a container remembers.
const CACHE_CAPACITY: usize = 4096;

/// How a conditional write went.
enum Sent {
    /// Applied; the attributes `UPDATED_OLD` returned.
    Applied(Option<Item>),
    /// The condition failed; the item as it was.
    Conflict(Option<Item>),
}

fn sdk_error(operation: &str, pk: &str, e: impl std::error::Error) -> StoreError {
    StoreError::unavailable(format!("dynamodb {operation} {pk:?}: {}", DisplayErrorContext(e)))
}

fn item_error(pk: &str, e: String) -> StoreError {
    StoreError::invalid(format!("dynamodb limiter item {pk:?}: {e}"))
}

/// The limiter port on one DynamoDB table.
pub struct DynamoLimiter {
    client: Client,
    table: String,
    /// Per `pk`: the expiry of the last live value seen (a hint for the shape).
    seen: Mutex<ExpiryMap<()>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for DynamoLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoLimiter").field("table", &self.table).finish_non_exhaustive()
    }
}

impl DynamoLimiter {
    /// A store on `table` through an existing client (the key-value store's:
    /// build it with [`crate::dynamo_kv::timeouts`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLimiter {
            client,
            table: table.into(),
            seen: Mutex::new(ExpiryMap::new(CACHE_CAPACITY)),
            calls: AtomicU64::new(0),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// DynamoDB requests made so far (for tests and metrics).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, ExpiryMap<()>> {
        // Every critical section is one map operation: poisoning cannot
        // leave it half-written.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn guess(&self, pk: &str, now: Timestamp) -> Shape {
        match self.seen().expiry(pk, now) {
            Some(_) => Shape::Live,
            None => Shape::Fresh,
        }
    }

    fn remember(&self, pk: &str, expires_at: Option<Timestamp>, now: Timestamp) {
        let mut seen = self.seen();
        match expires_at.filter(|&exp| exp > now) {
            // Full: the entry that expires first makes room (no clear-all).
            Some(exp) => seen.insert(pk, (), exp, 0, now),
            None => {
                seen.remove(pk);
            }
        }
    }

    async fn send(&self, pk: &str, op: &Op) -> Result<Sent, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match op.action {
            Action::Update(update) => {
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, AttributeValue::S(pk.to_owned()))
                    .condition_expression(op.condition)
                    .update_expression(update)
                    .set_expression_attribute_names(Some(op.names()))
                    .set_expression_attribute_values(Some(op.attribute_values()))
                    .return_values(ReturnValue::UpdatedOld)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .send()
                    .await;
                match result {
                    Ok(output) => Ok(Sent::Applied(output.attributes)),
                    Err(SdkError::ServiceError(e)) => match e.into_err() {
                        UpdateItemError::ConditionalCheckFailedException(failed) => Ok(Sent::Conflict(failed.item)),
                        other => Err(sdk_error("UpdateItem", pk, other)),
                    },
                    Err(e) => Err(sdk_error("UpdateItem", pk, e)),
                }
            }
            Action::Delete => {
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .key(PK, AttributeValue::S(pk.to_owned()))
                    .condition_expression(op.condition)
                    .set_expression_attribute_names(Some(op.names()))
                    .set_expression_attribute_values(Some(op.attribute_values()))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .send()
                    .await;
                match result {
                    Ok(_) => Ok(Sent::Applied(None)),
                    Err(SdkError::ServiceError(e)) => match e.into_err() {
                        DeleteItemError::ConditionalCheckFailedException(failed) => Ok(Sent::Conflict(failed.item)),
                        other => Err(sdk_error("DeleteItem", pk, other)),
                    },
                    Err(e) => Err(sdk_error("DeleteItem", pk, e)),
                }
            }
        }
    }

    /// A decision no write can change: on the item as it is.
    async fn decide_on_read(&self, pk: &str, limit: &Limit, cost: u64, now: Timestamp) -> Result<Decision, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", pk, e))?;
        let stored = live_value(limit, output.item(), now).map_err(|e| item_error(pk, e))?;
        self.remember(pk, stored.map(|s| s.expires_at), now);
        Ok(limit::apply(limit, stored.map(|s| s.value), cost, now).decision)
    }

    async fn acquire_at(&self, key: &str, limit: Limit, cost: u64, now: Timestamp) -> Result<Decision, StoreError> {
        let pk = item_key(key);
        let mut shape = self.guess(&pk, now);
        for _ in 0..MAX_ATTEMPTS {
            let Some(op) = acquire_op(&limit, cost, now, shape) else {
                return self.decide_on_read(&pk, &limit, cost, now).await;
            };
            match self.send(&pk, &op).await? {
                Sent::Applied(old) => {
                    let (decision, exp) =
                        after_update(&limit, cost, now, shape, old.as_ref()).map_err(|e| item_error(&pk, e))?;
                    self.remember(&pk, exp, now);
                    return Ok(decision);
                }
                Sent::Conflict(old) => {
                    let stored = live_value(&limit, old.as_ref(), now).map_err(|e| item_error(&pk, e))?;
                    self.remember(&pk, stored.map(|s| s.expires_at), now);
                    match after_conflict(&limit, cost, now, old.as_ref()).map_err(|e| item_error(&pk, e))? {
                        Next::Deny(decision) => return Ok(decision),
                        Next::Retry(next) => shape = next,
                    }
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Contention,
            format!("dynamodb limiter item {pk:?}: still changing after {MAX_ATTEMPTS} conditional updates"),
        ))
    }

    async fn release_at(&self, key: &str, limit: Limit, cost: u64, now: Timestamp) -> Result<(), StoreError> {
        let pk = item_key(key);
        let mut refund = Refund::GiveBack;
        for _ in 0..MAX_ATTEMPTS {
            let Some(op) = release_op(&limit, cost, now, refund) else { return Ok(()) };
            match self.send(&pk, &op).await? {
                Sent::Applied(_) => {
                    if op.action == Action::Delete {
                        self.remember(&pk, None, now);
                    }
                    return Ok(());
                }
                Sent::Conflict(old) => {
                    match refund_after_conflict(&limit, cost, now, old.as_ref()).map_err(|e| item_error(&pk, e))? {
                        None => return Ok(()),
                        Some(next) => refund = next,
                    }
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Contention,
            format!("dynamodb limiter item {pk:?}: still changing after {MAX_ATTEMPTS} conditional writes"),
        ))
    }
}

impl LimiterStore for DynamoLimiter {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        self.acquire_at(key, *limit, cost, now)
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        self.release_at(key, *limit, cost, now)
    }
}
