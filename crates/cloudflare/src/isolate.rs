//! Per-isolate state: the gateway compiled once from the config embedded at
//! build time (with `${NAME}` placeholders resolved from Workers vars and
//! secrets), and the in-memory stores every request of this isolate shares.
//! A config that does not load, or asks for what Workers cannot do (a
//! `lambda:` upstream), leaves the isolate answering 500 to everything.

use crate::platform::Stores;
use bytes::Bytes;
use std::sync::OnceLock;
use tollgate_core::platform::Runtime;
use tollgate_core::{Gateway, GatewayError};
use worker::Env;

/// The config file, copied into `OUT_DIR` by `build.rs`.
const CONFIG_TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/gateway.yaml"));
/// Its path as given in `TOLLGATE_CONFIG`, for `file:line:col` messages.
const CONFIG_NAME: &str = env!("TOLLGATE_CONFIG_NAME");

pub struct Isolate {
    /// The compiled gateway, or the config errors (one `file:line:col: message` a line).
    pub gateway: Result<Gateway, String>,
    pub stores: Stores,
}

static ISOLATE: OnceLock<Isolate> = OnceLock::new();

/// The isolate's state, built on the first request (vars and secrets are only
/// reachable through a request's `Env`; they are the same for every request).
pub fn get(env: &Env) -> &'static Isolate {
    ISOLATE.get_or_init(|| {
        let lookup = |name: &str| -> Option<String> {
            env.var(name).ok().map(|v| v.to_string()).or_else(|| env.secret(name).ok().map(|s| s.to_string()))
        };
        let gateway = tollgate_core::load(CONFIG_NAME, CONFIG_TEXT, &lookup)
            .map_err(|errors| errors.to_string())
            .and_then(refuse_unsupported);
        match &gateway {
            Ok(gw) => tracing::info!(config = CONFIG_NAME, routes = gw.routes().len(), "gateway loaded"),
            Err(detail) => worker::console_error!("gateway config failed to load:\n{}", detail),
        }
        Isolate { gateway, stores: Stores::default() }
    })
}

/// The gateway, or what it asks of Workers that Workers cannot do, printed
/// like load errors (`file:line:col: message`, one a line).
fn refuse_unsupported(gateway: Gateway) -> Result<Gateway, String> {
    let cannot = gateway.unsupported_on(Runtime::Cloudflare);
    if cannot.is_empty() {
        return Ok(gateway);
    }
    let lines: Vec<String> = cannot.iter().map(|f| f.render(CONFIG_NAME)).collect();
    Err(lines.join("\n"))
}

/// The answer to every request while the config does not load.
pub fn misconfigured(detail: &str) -> http::Response<Bytes> {
    GatewayError::Misconfigured(detail.to_owned()).to_response("")
}
