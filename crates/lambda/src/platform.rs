//! The ports on Lambda: HTTP, time, deferred work and (for now) counters,
//! cache and analytics as on the local server (`tollgate-native`); the
//! key-value store on DynamoDB when the function has a table.
//!
//! `TOLLGATE_TABLE` names the table (template.yaml sets it). Without it the
//! key-value store is the container's memory, as on the local server: fine
//! for trying the function out, but consumers issued at run time are then
//! neither shared between containers nor kept across cold starts.

use crate::dynamo_kv::DynamoKv;
use bytes::Bytes;
use std::future::Future;
use tollgate_core::platform::memory::MemoryKv;
use tollgate_core::platform::{KeyValueStore, MaybeSend, Runtime, StoreError, Timestamp};
use tollgate_native::NativePlatform;

/// The environment variable naming the DynamoDB table.
pub const TABLE_VARIABLE: &str = "TOLLGATE_TABLE";

/// The table named by `TOLLGATE_TABLE` (unset or blank: none).
pub fn table_from_env() -> Option<String> {
    table_name(std::env::var(TABLE_VARIABLE).ok())
}

fn table_name(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The key-value store of a container: DynamoDB or memory.
pub enum LambdaKv {
    Dynamo(DynamoKv),
    Memory(MemoryKv),
}

impl std::fmt::Debug for LambdaKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LambdaKv::Dynamo(kv) => f.debug_tuple("Dynamo").field(&kv.table()).finish(),
            LambdaKv::Memory(_) => f.write_str("Memory"),
        }
    }
}

impl KeyValueStore for LambdaKv {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            match self {
                LambdaKv::Dynamo(kv) => kv.get(&key, now).await,
                LambdaKv::Memory(kv) => kv.get(&key, now).await,
            }
        }
    }

    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            match self {
                LambdaKv::Dynamo(kv) => kv.put(&key, value, expires_at).await,
                LambdaKv::Memory(kv) => kv.put(&key, value, expires_at).await,
            }
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            match self {
                LambdaKv::Dynamo(kv) => kv.delete(&key).await,
                LambdaKv::Memory(kv) => kv.delete(&key).await,
            }
        }
    }
}

/// Every port of a Lambda container, built once at cold start: the
/// tokio-side ports of `tollgate-native` with the container's key-value store.
pub type LambdaPlatform = NativePlatform<LambdaKv>;

/// The ports as the environment configures them: DynamoDB on the table
/// `TOLLGATE_TABLE` names (client from the environment), else memory.
pub async fn from_env() -> LambdaPlatform {
    let kv = match table_from_env() {
        Some(table) => {
            tracing::info!(table = %table, "key-value store: DynamoDB");
            LambdaKv::Dynamo(DynamoKv::from_env(table).await)
        }
        None => {
            tracing::info!("key-value store: container memory ({TABLE_VARIABLE} is not set)");
            LambdaKv::Memory(MemoryKv::default())
        }
    };
    NativePlatform::with_kv(Runtime::Lambda, kv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::platform::Platform;

    #[test]
    fn blank_table_names_mean_memory() {
        assert_eq!(table_name(None), None);
        assert_eq!(table_name(Some(String::new())), None);
        assert_eq!(table_name(Some("  ".into())), None);
        assert_eq!(table_name(Some(" tollgate ".into())).as_deref(), Some("tollgate"));
    }

    #[tokio::test]
    async fn memory_store_behaves_as_the_port() {
        let platform = LambdaPlatform::with_kv(Runtime::Lambda, LambdaKv::Memory(MemoryKv::default()));
        assert_eq!(platform.runtime(), Runtime::Lambda);
        let kv = platform.kv();
        let now = Timestamp(1_000_000);
        assert_eq!(kv.get("a", now).await, Ok(None));
        kv.put("a", Bytes::from_static(b"1"), None).await.expect("put");
        kv.put("b", Bytes::from_static(b"2"), Some(Timestamp(2_000_000))).await.expect("put");
        assert_eq!(kv.get("a", now).await, Ok(Some(Bytes::from_static(b"1"))));
        assert_eq!(kv.get("b", now).await, Ok(Some(Bytes::from_static(b"2"))));
        assert_eq!(kv.get("b", Timestamp(2_000_000)).await, Ok(None));
        kv.delete("a").await.expect("delete");
        assert_eq!(kv.get("a", now).await, Ok(None));
    }
}
