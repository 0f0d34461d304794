//! The limiter port on Workers: exact across isolates through the
//! `TOLLGATE_LIMITER` Durable Object namespace (one `LimiterObject` per limit
//! key, one subrequest per check, see `limiter_object.rs`), or the isolate's
//! memory when the Worker has no such binding (limits then hold per isolate
//! only; a warning says so once).

use crate::limiter_object::{Op, parse_decision, request_body};
use std::future::Future;
use std::sync::Once;
use tollgate_core::limit::{Decision, Limit};
use tollgate_core::platform::memory::MemoryLimiter;
use tollgate_core::platform::{LimiterStore, MaybeSend, OrMemory, StoreError, Timestamp};
use worker::wasm_bindgen::JsValue;
use worker::{Method, ObjectNamespace, Request, RequestInit};

/// The binding name in wrangler.toml (`[[durable_objects.bindings]] name = "TOLLGATE_LIMITER"`).
pub const BINDING: &str = "TOLLGATE_LIMITER";

/// The URL of the subrequest; an object's fetch sees it but does not look at it.
const OBJECT_URL: &str = "https://limiter.tollgate.internal/";

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(format!("limiter object: {e}"))
}

/// Checks against the Durable Object named by each key.
pub struct DurableLimiter {
    namespace: ObjectNamespace,
}

impl DurableLimiter {
    /// One request to the key's object; its answer's body when it says 200.
    async fn call(&self, key: &str, body: String) -> Result<String, StoreError> {
        let stub = self.namespace.id_from_name(key).and_then(|id| id.get_stub()).map_err(store_error)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&body)));
        let request = Request::new_with_init(OBJECT_URL, &init).map_err(store_error)?;
        let mut response = stub.fetch_with_request(request).await.map_err(store_error)?;
        let text = response.text().await.map_err(store_error)?;
        match response.status_code() {
            200 => Ok(text),
            status => Err(store_error(format!("answered {status}: {text}"))),
        }
    }
}

impl LimiterStore for DurableLimiter {
    fn acquire(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Decision, StoreError>> + MaybeSend {
        let body = request_body(Op::Acquire, limit, cost, now);
        async move {
            parse_decision(&self.call(key, body).await?)
                .map_err(|e| StoreError::invalid(format!("limiter object: {e}")))
        }
    }

    fn release(
        &self,
        key: &str,
        limit: &Limit,
        cost: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        let body = request_body(Op::Release, limit, cost, now);
        async move { self.call(key, body).await.map(drop) }
    }
}

/// The Worker's limiter: the Durable Object namespace when bound, else memory.
pub type WorkersLimiter<'a> = OrMemory<DurableLimiter, &'a MemoryLimiter>;

static PER_ISOLATE_WARNING: Once = Once::new();

/// The Durable Object namespace bound as [`BINDING`], else `fallback` (said once in the log).
pub fn workers_limiter<'a>(env: &worker::Env, fallback: &'a MemoryLimiter) -> WorkersLimiter<'a> {
    let durable = env.durable_object(BINDING).ok().map(|namespace| DurableLimiter { namespace });
    OrMemory::new(durable, || {
        PER_ISOLATE_WARNING.call_once(|| {
            tracing::warn!(
                binding = BINDING,
                "no Durable Object binding for the limiter: rate limits and the failed-authentication \
                 limit are counted per isolate, not across the Worker"
            );
        });
        fallback
    })
}
