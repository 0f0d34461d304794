//! The Durable Object behind the exact limiter on Workers: one `LimiterObject`
//! per limit key (the Worker addresses it with `id_from_name(key)`, see
//! `limiter.rs`), keeping that key's one stored value and deciding every check
//! with the core's `limit::apply` / `limit::refund`, exactly as `MemoryLimiter`
//! does in one process.
//!
//! Protocol: the Worker POSTs `{"op":"acquire"|"release","limit":<Limit>,
//! "cost":N,"now":<µs>}`; an acquire answers `{"admitted":bool,"remaining":N,
//! "reset_after_us":N,"wait_us":N}`, a release `{}`. A body that does not parse
//! gets 400, a storage failure 500; nothing here panics on input.
//!
//! State: the value lives in DO storage under `"v"` (a string
//! `"<value> <expires_at µs>"`, so a `u64` never goes through a JS number), so
//! an eviction does not reset a window. It is read once per object instance
//! into memory and written through on every change; a value with
//! `expires_at <= now` counts as absent. An alarm deletes the stored value a
//! minute after it expires, so idle keys do not keep storage.
//!
//! Why read-decide-write is atomic: a Durable Object runs one JS event at a
//! time, and workerd's input gate delivers no other event to the object while
//! one of its storage operations is in flight. The request body is read
//! first; from then on the handler awaits nothing but storage. The first
//! load re-checks, after its read completes, whether a concurrent request
//! already loaded (and changed) the value, and keeps that copy if so. The
//! decision itself reads and updates the in-memory copy with no `.await` in
//! between, and only then awaits the storage write (whose completion the
//! output gate waits for before any answer leaves the object). So two
//! requests to one key can never both see the same old value.
//!
//! One object is single-threaded: a single hot key tops out at roughly 1,000
//! requests per second.

use crate::clock::WorkersClock;
use std::cell::Cell;
use std::time::Duration;
use tollgate_core::limit::{self, Decision, Limit, Stored};
use tollgate_core::platform::{Clock, Timestamp};
use worker::{DurableObject, Env, Request, Response, Result, ScheduledTime, State, Storage, durable_object, js_sys};

/// The storage key of the one value an object keeps.
const VALUE_KEY: &str = "v";
/// How long after expiry the alarm deletes a value. The expiry is on the
/// Workers' clocks (the `now` they send), the alarm on the object's: the
/// margin keeps a Worker whose clock is behind from seeing its live value
/// deleted. Keeping an expired value a minute longer costs nothing.
const DELETE_GRACE: Duration = Duration::from_secs(60);

/// What the Worker asks the object to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Acquire,
    Release,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Acquire => "acquire",
            Op::Release => "release",
        }
    }
}

/// One request to the object, as parsed from its JSON body.
#[derive(Debug, Clone, Copy)]
struct Call {
    op: Op,
    limit: Limit,
    cost: u64,
    now: Timestamp,
}

/// The request body the object expects.
pub fn request_body(op: Op, limit: &Limit, cost: u64, now: Timestamp) -> String {
    serde_json::json!({ "op": op.as_str(), "limit": limit, "cost": cost, "now": now.0 }).to_string()
}

fn parse_call(body: &[u8]) -> std::result::Result<Call, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let op = match v.get("op").and_then(serde_json::Value::as_str) {
        Some("acquire") => Op::Acquire,
        Some("release") => Op::Release,
        _ => return Err("`op` must be \"acquire\" or \"release\"".into()),
    };
    let limit = v.get("limit").cloned().ok_or_else(|| "`limit` is missing".to_owned())?;
    let limit: Limit = serde_json::from_value(limit).map_err(|e| format!("`limit`: {e}"))?;
    let number = |name: &str| {
        v.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| format!("`{name}` must be an unsigned integer"))
    };
    Ok(Call { op, limit, cost: number("cost")?, now: Timestamp(number("now")?) })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The answer to an acquire.
fn decision_json(d: &Decision) -> serde_json::Value {
    serde_json::json!({
        "admitted": d.admitted,
        "remaining": d.remaining,
        "reset_after_us": micros(d.reset_after),
        "wait_us": micros(d.wait),
    })
}

/// Reads an acquire's answer back (the Worker side).
pub fn parse_decision(body: &str) -> std::result::Result<Decision, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("answer is not JSON: {e}"))?;
    let number =
        |name: &str| v.get(name).and_then(serde_json::Value::as_u64).ok_or_else(|| format!("answer lacks `{name}`"));
    Ok(Decision {
        admitted: v.get("admitted").and_then(serde_json::Value::as_bool).ok_or("answer lacks `admitted`")?,
        remaining: number("remaining")?,
        reset_after: Duration::from_micros(number("reset_after_us")?),
        wait: Duration::from_micros(number("wait_us")?),
    })
}

fn encode(s: Stored) -> String {
    format!("{} {}", s.value, s.expires_at.0)
}

fn decode(text: &str) -> Option<Stored> {
    let (value, expires_at) = text.split_once(' ')?;
    Some(Stored { value: value.parse().ok()?, expires_at: Timestamp(expires_at.parse().ok()?) })
}

/// Alarm time (ms since the epoch, rounded up) for deleting `s`.
fn delete_at_ms(s: Stored) -> f64 {
    s.expires_at.plus(DELETE_GRACE).0.div_ceil(1000) as f64
}

#[durable_object(alarm)]
pub struct LimiterObject {
    state: State,
    storage: Storage,
    /// Whether `value` holds what storage has (read once per instance).
    loaded: Cell<bool>,
    /// The stored value (possibly expired), as last written.
    value: Cell<Option<Stored>>,
    /// Whether this instance has scheduled the deleting alarm.
    alarm_set: Cell<bool>,
}

impl LimiterObject {
    /// The stored value, read from storage on first use.
    async fn load(&self) -> Result<Option<Stored>> {
        if !self.loaded.get() {
            let text: Option<String> = self.storage.get(VALUE_KEY).await?;
            // A concurrent request may have loaded (and changed) the value while
            // this read was in flight: its copy is the newer one.
            if !self.loaded.get() {
                let value = text.as_deref().and_then(decode);
                if text.is_some() && value.is_none() {
                    tracing::warn!(stored = ?text, "limiter object: unreadable stored value dropped");
                }
                self.value.set(value);
                self.loaded.set(true);
                tracing::info!(key = self.name(), stored = value.is_some(), "limiter object loaded");
            }
        }
        Ok(self.value.get())
    }

    fn name(&self) -> String {
        let id = self.state.id();
        id.name().unwrap_or_else(|| id.to_string())
    }

    /// Updates the in-memory copy (synchronously), then storage.
    async fn write(&self, value: Option<Stored>) -> Result<()> {
        self.value.set(value);
        match value {
            Some(s) => {
                self.storage.put(VALUE_KEY, encode(s)).await?;
                if !self.alarm_set.replace(true) {
                    self.set_alarm(s).await?;
                }
            }
            None => {
                self.storage.delete(VALUE_KEY).await?;
            }
        }
        Ok(())
    }

    async fn set_alarm(&self, s: Stored) -> Result<()> {
        let at = js_sys::Date::new(&js_sys::Number::from(delete_at_ms(s)).into());
        self.storage.set_alarm(ScheduledTime::new(at)).await
    }

    /// Decides one call on the loaded value; awaits only storage.
    async fn run(&self, call: Call) -> Result<serde_json::Value> {
        let stored = self.load().await?;
        let live = stored.filter(|s| s.expires_at > call.now).map(|s| s.value);
        match call.op {
            Op::Acquire => {
                let applied = limit::apply(&call.limit, live, call.cost, call.now);
                if applied.write.is_some() {
                    self.write(applied.write).await?;
                }
                Ok(decision_json(&applied.decision))
            }
            Op::Release => {
                if live.is_some() {
                    self.write(limit::refund(&call.limit, live, call.cost, call.now)).await?;
                }
                Ok(serde_json::json!({}))
            }
        }
    }
}

impl DurableObject for LimiterObject {
    fn new(state: State, _env: Env) -> Self {
        let storage = state.storage();
        LimiterObject { state, storage, loaded: Cell::new(false), value: Cell::new(None), alarm_set: Cell::new(false) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        // The only await that is not storage: it comes before the value is read.
        let body = match req.bytes().await {
            Ok(body) => body,
            Err(e) => return Response::error(format!("unreadable body: {e}"), 400),
        };
        let call = match parse_call(&body) {
            Ok(call) => call,
            Err(why) => return Response::error(why, 400),
        };
        match self.run(call).await {
            Ok(answer) => Response::from_json(&answer),
            Err(e) => {
                tracing::error!(error = %e, key = self.name(), "limiter object storage failed");
                Response::error(format!("storage: {e}"), 500)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_set.set(false);
        let now = WorkersClock.now();
        if let Some(s) = self.load().await? {
            if s.expires_at.plus(DELETE_GRACE) <= now {
                self.write(None).await?;
            } else {
                // Still live (a later write moved its expiry): look again then.
                self.alarm_set.set(true);
                self.set_alarm(s).await?;
            }
        }
        Response::empty()
    }
}
