//! Tollgate's runtime-agnostic core: config, compile, request pipeline, and
//! the ports every runtime implements. No tokio, no worker, no aws imports;
//! compiles for wasm32-unknown-unknown.
//!
//! ```
//! use tollgate_core::load;
//! let yaml = "version: 1\nupstreams:\n  echo: { targets: [ { url: \"http://127.0.0.1:9001\" } ] }\nroutes:\n  - { id: hello, path: /hello, upstream: echo }\n";
//! let gateway = load("gateway.yaml", yaml, &|_| None).expect("valid config");
//! assert_eq!(gateway.routes()[0].id, "hello");
//! ```

mod aggregate;
mod auth;
mod client_ip;
mod compile;
pub mod config;
mod error;
/// Entry points for the fuzz targets under `fuzz/` (not API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod gateway;
pub mod limit;
pub mod pipeline;
pub mod platform;
mod target;
mod translate;

pub use auth::api_key::stored_form as api_key_stored_form;
pub use compile::bounds::ServerLimits;
pub use compile::load;
pub use error::GatewayError;
pub use gateway::{Gateway, PlanSummary, RouteSummary, UpstreamSummary};
pub use pipeline::{ClientInfo, PlanUsage};
pub use target::{TargetFinding, TargetPlatform};
