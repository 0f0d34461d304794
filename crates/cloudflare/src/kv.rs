//! The key-value port on Workers: the `TOLLGATE_KV` namespace (consumers
//! issued at run time, later dynamic upstreams), or the isolate's memory when
//! the Worker has no such binding.

use bytes::Bytes;
use std::future::Future;
use tollgate_core::platform::memory::MemoryKv;
use tollgate_core::platform::{KeyValueStore, MaybeSend, StoreError, Timestamp};
use worker::KvStore;

/// The binding name in wrangler.toml (`[[kv_namespaces]] binding = "TOLLGATE_KV"`).
pub const BINDING: &str = "TOLLGATE_KV";

pub struct WorkersKv<'a> {
    kv: Option<KvStore>,
    fallback: &'a MemoryKv,
}

impl<'a> WorkersKv<'a> {
    pub fn new(env: &worker::Env, fallback: &'a MemoryKv) -> Self {
        WorkersKv { kv: env.kv(BINDING).ok(), fallback }
    }
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("workers kv: {e}"))
}

impl KeyValueStore for WorkersKv<'_> {
    fn get(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            match &self.kv {
                Some(kv) => kv.get(&key).bytes().await.map(|v| v.map(Bytes::from)).map_err(store_error),
                None => self.fallback.get(&key, now).await,
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
            match &self.kv {
                Some(kv) => {
                    let mut put = kv.put_bytes(&key, &value).map_err(store_error)?;
                    if let Some(at) = expires_at {
                        // KV expirations are whole seconds, at least 60 s ahead.
                        put = put.expiration(at.as_secs());
                    }
                    put.execute().await.map_err(store_error)
                }
                None => self.fallback.put(&key, value, expires_at).await,
            }
        }
    }

    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let key = key.to_owned();
        async move {
            match &self.kv {
                Some(kv) => kv.delete(&key).await.map_err(store_error),
                None => self.fallback.delete(&key).await,
            }
        }
    }
}
