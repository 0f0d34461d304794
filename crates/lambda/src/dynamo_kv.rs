//! The key-value port on DynamoDB: one table, one item per key.
//!
//! Item layout (the table's hash key is `pk`, a string):
//!
//! | attribute | type | value |
//! |---|---|---|
//! | `pk`  | S | `kv#` + the port's key (e.g. `kv#apikey:<hex>`), so that other kinds of item (counters, later) can share the table |
//! | `v`   | B | the value's bytes (an `S` written by hand, e.g. with the AWS CLI, is read as its UTF-8 bytes) |
//! | `ttl` | N | `expires_at` in whole epoch seconds, rounded down; absent when the value does not expire |
//!
//! `ttl` is the attribute the table's `TimeToLiveSpecification` names, so
//! DynamoDB deletes expired items by itself; it does so lazily (typically
//! within a few days), so a read also treats an item whose `ttl` is not in the
//! future as absent. Rounding down means a value with a sub-second expiry
//! disappears up to a second early, never late.
//!
//! Reads are strongly consistent (`ConsistentRead`), so a key issued a moment
//! ago is seen by the next request in any container. Every call is bounded by
//! [`CALL_TIMEOUT`] (all retries included); SDK errors become a
//! [`StoreError`] carrying the SDK's full error chain (`DisplayErrorContext`).
//!
//! The client is built once, at cold start, from the environment: region and
//! credentials as Lambda provides them, and `AWS_ENDPOINT_URL_DYNAMODB` for an
//! emulator (`scripts/dynamodb-emulator.py`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tollgate_core::platform::{KeyValueStore, MaybeSend, StoreError, Timestamp};

/// Upper bound on one store call, retries included: the gateway answers
/// (with the store treated as unavailable) rather than wait on DynamoDB.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// The table's hash key attribute.
pub const PK: &str = "pk";
/// The value attribute.
pub const VALUE: &str = "v";
/// The expiry attribute (the table's TTL attribute).
pub const TTL: &str = "ttl";
/// Prefix of every key-value item's `pk`.
pub const KEY_PREFIX: &str = "kv#";

/// The SDK timeouts every DynamoDB client of the gateway uses.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(CALL_TIMEOUT)
        .operation_attempt_timeout(CALL_TIMEOUT)
        .connect_timeout(CALL_TIMEOUT)
        .build()
}

/// The `pk` of the item holding `key`.
pub fn item_key(key: &str) -> String {
    let mut pk = String::with_capacity(KEY_PREFIX.len() + key.len());
    pk.push_str(KEY_PREFIX);
    pk.push_str(key);
    pk
}

/// The `ttl` attribute for an expiry: whole epoch seconds, rounded down.
pub fn ttl_attribute(expires_at: Timestamp) -> AttributeValue {
    AttributeValue::N(expires_at.as_secs().to_string())
}

/// The item `put` writes.
pub fn item(key: &str, value: &[u8], expires_at: Option<Timestamp>) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(3);
    item.insert(PK.to_owned(), AttributeValue::S(item_key(key)));
    item.insert(VALUE.to_owned(), AttributeValue::B(Blob::new(value)));
    if let Some(at) = expires_at {
        item.insert(TTL.to_owned(), ttl_attribute(at));
    }
    item
}

/// Whether a `ttl` attribute says the item has expired at `now`. A number
/// with a fraction or an exponent (written by another tool) is read as such.
fn expired(ttl: &AttributeValue, now: Timestamp) -> Result<bool, String> {
    let AttributeValue::N(text) = ttl else {
        return Err(format!("`{TTL}` is not a number"));
    };
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs.saturating_mul(1_000_000) <= now.as_micros());
    }
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() => Ok(secs * 1_000_000.0 <= now.as_micros() as f64),
        _ => Err(format!("`{TTL}` is not a number: {text:?}")),
    }
}

/// The value of an item `get` read (None when the item has expired at `now`).
pub fn value_of(item: &HashMap<String, AttributeValue>, now: Timestamp) -> Result<Option<Bytes>, String> {
    if let Some(ttl) = item.get(TTL)
        && expired(ttl, now)?
    {
        return Ok(None);
    }
    match item.get(VALUE) {
        Some(AttributeValue::B(blob)) => Ok(Some(Bytes::copy_from_slice(blob.as_ref()))),
        Some(AttributeValue::S(text)) => Ok(Some(Bytes::copy_from_slice(text.as_bytes()))),
        Some(_) => Err(format!("`{VALUE}` is neither binary nor a string")),
        None => Err(format!("the item has no `{VALUE}`")),
    }
}

fn sdk_error(operation: &str, key: &str, e: impl std::error::Error) -> StoreError {
    StoreError::unavailable(format!("dynamodb {operation} {key:?}: {}", DisplayErrorContext(e)))
}

/// The key-value port on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoKv {
    client: Client,
    table: String,
}

impl DynamoKv {
    /// A store on `table`, with a client configured from the environment
    /// (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`) and [`timeouts`].
    /// Call once, at cold start; loading reads no network.
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts()).load().await;
        DynamoKv::new(Client::new(&config), table)
    }

    /// A store on `table` through an existing client.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoKv { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl KeyValueStore for DynamoKv {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        let request = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(item_key(key)))
            .consistent_read(true);
        let key = key.to_owned();
        async move {
            let output = request.send().await.map_err(|e| sdk_error("GetItem", &key, e))?;
            match output.item() {
                Some(item) => {
                    value_of(item, now).map_err(|e| StoreError::invalid(format!("dynamodb item {key:?}: {e}")))
                }
                None => Ok(None),
            }
        }
    }

    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item(key, &value, expires_at)));
        let key = key.to_owned();
        async move {
            request.send().await.map_err(|e| sdk_error("PutItem", &key, e))?;
            Ok(())
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let request = self.client.delete_item().table_name(&self.table).key(PK, AttributeValue::S(item_key(key)));
        let key = key.to_owned();
        async move {
            request.send().await.map_err(|e| sdk_error("DeleteItem", &key, e))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp(1_790_000_000_500_000); // x.5 s

    fn n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
        match item.get(name) {
            Some(AttributeValue::N(v)) => Some(v.clone()),
            _ => None,
        }
    }

    #[test]
    fn keys_are_prefixed() {
        assert_eq!(item_key("apikey:00ff"), "kv#apikey:00ff");
        assert_eq!(item_key("subject:alice"), "kv#subject:alice");
        assert_eq!(item_key(""), "kv#");
        // No escaping: a key that itself holds the prefix stays distinct.
        assert_eq!(item_key("kv#x"), "kv#kv#x");
    }

    #[test]
    fn item_without_expiry_has_no_ttl() {
        let item = item("apikey:ab", b"{\"id\":\"acme\"}", None);
        assert_eq!(item.len(), 2);
        assert_eq!(item.get(PK), Some(&AttributeValue::S("kv#apikey:ab".into())));
        assert_eq!(item.get(VALUE), Some(&AttributeValue::B(Blob::new(b"{\"id\":\"acme\"}".to_vec()))));
        assert!(!item.contains_key(TTL));
    }

    #[test]
    fn ttl_is_whole_epoch_seconds_rounded_down() {
        let item = item("k", b"", Some(T));
        assert_eq!(n(&item, TTL).as_deref(), Some("1790000000"));
        assert_eq!(n(&super::item("k", b"", Some(Timestamp(999_999))), TTL).as_deref(), Some("0"));
    }

    #[test]
    fn binary_values_round_trip() {
        let bytes = [0u8, 0xff, b'\n', 0x80];
        let item = item("k", &bytes, None);
        assert_eq!(value_of(&item, T), Ok(Some(Bytes::copy_from_slice(&bytes))));
    }

    #[test]
    fn item_is_visible_until_its_ttl_second() {
        let item = item("k", b"v", Some(T)); // ttl = 1790000000
        let second = Timestamp(1_790_000_000_000_000);
        assert_eq!(value_of(&item, Timestamp(second.0 - 1)), Ok(Some(Bytes::from_static(b"v"))));
        assert_eq!(value_of(&item, second), Ok(None), "expired from the ttl second on");
        assert_eq!(value_of(&item, T), Ok(None), "expires_at rounded down: gone by expires_at");
        assert_eq!(value_of(&item, Timestamp(u64::MAX)), Ok(None));
    }

    #[test]
    fn lazily_deleted_items_are_absent() {
        // DynamoDB keeps expired items for a while: such an item reads as absent.
        let mut item = item("k", b"v", None);
        item.insert(TTL.into(), AttributeValue::N("1".into()));
        assert_eq!(value_of(&item, T), Ok(None));
    }

    #[test]
    fn ttl_written_by_other_tools() {
        let mut item = item("k", b"v", None);
        for (ttl, visible) in
            [("1790000001.5", true), ("1.7e9", false), (" 1790000001 ", true), ("1790000000.4", false)]
        {
            item.insert(TTL.into(), AttributeValue::N(ttl.into()));
            assert_eq!(value_of(&item, T).map(|v| v.is_some()), Ok(visible), "ttl {ttl}");
        }
        item.insert(TTL.into(), AttributeValue::S("tomorrow".into()));
        assert!(value_of(&item, T).is_err());
        for bad in ["soon", "NaN", "inf", ""] {
            item.insert(TTL.into(), AttributeValue::N(bad.into()));
            assert!(value_of(&item, T).is_err(), "ttl {bad:?}");
        }
    }

    #[test]
    fn string_values_written_by_hand_are_read() {
        let mut item = item("k", b"", None);
        item.insert(VALUE.into(), AttributeValue::S("{\"id\":\"ops\"}".into()));
        assert_eq!(value_of(&item, T), Ok(Some(Bytes::from_static(b"{\"id\":\"ops\"}"))));
    }

    #[test]
    fn malformed_items_are_errors() {
        let mut item = item("k", b"", None);
        item.remove(VALUE);
        assert!(value_of(&item, T).expect_err("no value").contains("no `v`"));
        item.insert(VALUE.into(), AttributeValue::Bool(true));
        assert!(value_of(&item, T).is_err());
    }

    #[test]
    fn timeouts_bound_every_call() {
        let t = timeouts();
        assert_eq!(t.operation_timeout(), Some(CALL_TIMEOUT));
        assert_eq!(t.operation_attempt_timeout(), Some(CALL_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(CALL_TIMEOUT));
    }
}
