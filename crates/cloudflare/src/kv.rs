//! The key-value port on Workers: the `TOLLGATE_KV` namespace (consumers
//! issued at run time, later dynamic upstreams), or the isolate's memory when
//! the Worker has no such binding.

use bytes::Bytes;
use std::future::Future;
use tollgate_core::platform::memory::MemoryKv;
use tollgate_core::platform::{KeyValueStore, MaybeSend, OrMemory, StoreError, Timestamp};
use worker::KvStore;

/// The binding name in wrangler.toml (`[[kv_namespaces]] binding = "TOLLGATE_KV"`).
pub const BINDING: &str = "TOLLGATE_KV";

/// The namespace behind the binding.
pub struct KvBinding(KvStore);

/// The Worker's key-value store: the namespace when bound, else the isolate's memory.
pub type WorkersKv<'a> = OrMemory<KvBinding, &'a MemoryKv>;

/// The namespace bound as [`BINDING`], else `fallback`.
pub fn workers_kv<'a>(env: &worker::Env, fallback: &'a MemoryKv) -> WorkersKv<'a> {
    OrMemory::new(env.kv(BINDING).ok().map(KvBinding), || fallback)
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(format!("workers kv: {e}"))
}

impl KeyValueStore for KvBinding {
    fn get(&self, key: &str, _now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move { self.0.get(&key).bytes().await.map(|v| v.map(Bytes::from)).map_err(store_error) }
    }

    fn put(
        &self,
        key: &str,
        value: Bytes,
        expires_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            let mut put = self.0.put_bytes(&key, &value).map_err(store_error)?;
            if let Some(at) = expires_at {
                // KV expirations are whole seconds, at least 60 s ahead.
                put = put.expiration(at.as_secs());
            }
            put.execute().await.map_err(store_error)
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move { self.0.delete(&key).await.map_err(store_error) }
    }
}
