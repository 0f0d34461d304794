//! Tollgate's runtime-agnostic core: config, the features (each with its
//! compiled policy, its pipeline stage and its state), the pipeline that
//! orders them, and the ports every runtime implements. No tokio, no worker,
//! no aws imports; compiles for wasm32-unknown-unknown. `docs/architecture.md`
//! draws the modules and their one-way arrows (`scripts/check-layers.py`
//! keeps them one-way).
//!
//! ```
//! use tollgate_core::load;
//! let yaml = "version: 1\nupstreams:\n  echo: { targets: [ { url: \"http://127.0.0.1:9001\" } ] }\nroutes:\n  - { id: hello, path: /hello, upstream: echo }\n";
//! let gateway = load("gateway.yaml", yaml, &|_| None).expect("valid config");
//! assert_eq!(gateway.routes()[0].id, "hello");
//! ```

#![warn(missing_docs)]

// Leaves: no arrows to the features.
pub mod body;
pub mod config;
mod error;
mod identity;
mod ids;
pub mod time;
pub mod uri;
// Shared by the features, above the leaves.
mod client_ip;
pub mod limit;
pub mod platform;
mod request;
mod template;
// Features, each with its compiled policy, its stage and its state.
mod aggregate;
mod auth;
mod cors;
mod ratelimit;
mod routing;
mod transform;
mod translate;
mod upstream;
// The whole: compiled config, state, the pipeline and the entry points.
mod admin;
mod compiled;
mod gateway;
mod pipeline;
mod state;
mod summary;
mod target;

/// Entry points for the fuzz targets under `fuzz/` (not API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use auth::api_key::stored_form as api_key_stored_form;
pub use compiled::CompiledConfig;
pub use error::GatewayError;
pub use gateway::{Gateway, load};
pub use ratelimit::PlanUsage;
pub use request::ClientInfo;
pub use state::GatewayState;
pub use summary::{PlanSummary, RouteSummary, UpstreamSummary};
pub use target::{TargetFinding, TargetPlatform};
pub use upstream::bounds::ServerLimits;
