//! The ports on Lambda, the top of the library (it assembles the modules
//! below it): HTTP and time as on the local server (`tollgate-native`); the
//! key-value and limiter stores on DynamoDB when the function has a table
//! (else memory, through the core's `OrMemory`); the upstream client also
//! invokes functions (`lambda:` upstreams, [`crate::upstream`]).
//!
//! `TOLLGATE_TABLE` names the table (template.yaml sets it). Without it both
//! stores are the container's memory, as on the local server: fine for
//! trying the function out, but consumers issued at run time are then
//! neither shared between containers nor kept across cold starts, and every
//! container enforces rate limits and quotas on its own (so a function with
//! N warm containers lets up to N times the limit through).

use crate::dynamo_kv::{self, DynamoKv};
use crate::dynamo_limiter::DynamoLimiter;
use crate::upstream::LambdaUpstream;
use aws_sdk_dynamodb::Client;
use tollgate_core::platform::memory::{MemoryKv, MemoryLimiter};
use tollgate_core::platform::{OrMemory, Runtime};
use tollgate_native::{HyperUpstream, NativePlatform};

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
pub type LambdaKv = OrMemory<DynamoKv, MemoryKv>;

/// The limiter store of a container: DynamoDB (exact across containers) or
/// memory (per container).
pub type LambdaLimiter = OrMemory<DynamoLimiter, MemoryLimiter>;

/// Every port of a Lambda container, built once at cold start: the
/// tokio-side ports of `tollgate-native` with the container's key-value and
/// limiter stores and its upstream client.
pub type LambdaPlatform = NativePlatform<LambdaKv, LambdaLimiter, LambdaUpstream>;

/// The AWS config every SDK client of the container starts from (kept here
/// for callers of the library; it is [`crate::aws::sdk_config`]).
pub use crate::aws::sdk_config as aws_sdk_config;

/// The ports as the environment configures them: both stores on the table
/// `TOLLGATE_TABLE` names (one client from the environment, with
/// [`dynamo_kv::timeouts`]), else memory. The AWS config is loaded here only
/// for the table; else on the first function invoke, if any.
pub async fn from_env() -> LambdaPlatform {
    let (kv, limiter, sdk) = match table_from_env() {
        Some(table) => {
            tracing::info!(table = %table, "key-value and limiter stores: DynamoDB");
            let sdk = aws_sdk_config().await;
            let config = aws_sdk_dynamodb::config::Builder::from(&sdk).timeout_config(dynamo_kv::timeouts()).build();
            let client = Client::from_conf(config);
            (
                LambdaKv::Store(DynamoKv::new(client.clone(), table.clone())),
                LambdaLimiter::Store(DynamoLimiter::new(client, table)),
                Some(sdk),
            )
        }
        None => {
            tracing::info!("key-value and limiter stores: container memory ({TABLE_VARIABLE} is not set)");
            (LambdaKv::Memory(MemoryKv::default()), LambdaLimiter::Memory(MemoryLimiter::default()), None)
        }
    };
    let upstream = LambdaUpstream::new(HyperUpstream::new(), sdk);
    NativePlatform::with_upstream(Runtime::Lambda, kv, limiter, upstream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tollgate_core::limit::Limit;
    use tollgate_core::platform::{KeyValueStore, LimiterStore, Platform, Timestamp};

    #[test]
    fn blank_table_names_mean_memory() {
        assert_eq!(table_name(None), None);
        assert_eq!(table_name(Some(String::new())), None);
        assert_eq!(table_name(Some("  ".into())), None);
        assert_eq!(table_name(Some(" tollgate ".into())).as_deref(), Some("tollgate"));
    }

    #[tokio::test]
    async fn memory_store_behaves_as_the_port() {
        let platform = LambdaPlatform::with_upstream(
            Runtime::Lambda,
            LambdaKv::Memory(MemoryKv::default()),
            LambdaLimiter::Memory(MemoryLimiter::default()),
            LambdaUpstream::new(HyperUpstream::new(), None),
        );
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

    #[tokio::test]
    async fn memory_limiter_behaves_as_the_port() {
        let platform = LambdaPlatform::with_upstream(
            Runtime::Lambda,
            LambdaKv::Memory(MemoryKv::default()),
            LambdaLimiter::Memory(MemoryLimiter::default()),
            LambdaUpstream::new(HyperUpstream::new(), None),
        );
        let limiter = platform.limiter();
        let now = Timestamp(1_000_000);
        let limit = Limit::Count { limit: 2, window_end: Timestamp(2_000_000) };
        for admitted in [true, true, false] {
            assert_eq!(limiter.acquire("k", &limit, 1, now).await.map(|d| d.admitted), Ok(admitted));
        }
        limiter.release("k", &limit, 1, now).await.expect("release");
        assert_eq!(limiter.acquire("k", &limit, 1, now).await.map(|d| d.remaining), Ok(0));
        assert_eq!(format!("{limiter:?}"), "Memory");
    }
}
