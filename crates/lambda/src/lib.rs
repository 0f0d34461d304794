//! The Lambda adapter as a library; the function itself is the
//! `tollgate-lambda` binary (src/main.rs), and `tollgate-conformance-backend`
//! (src/bin/) the function the conformance suite invokes.
//!
//! Modules, each using only those listed before it (no cycles; the
//! `module_layers` test checks it):
//!
//! - [`payload`]: Lambda's HTTP JSON payloads, typed, read and written
//!   (events, proxy responses, invoked functions' answers);
//! - [`aws`]: the AWS SDK config the clients start from;
//! - [`dynamo_kv`]: the key-value port on DynamoDB;
//! - [`dynamo_limiter`]: the limiter port on DynamoDB (uses `dynamo_kv`'s table);
//! - [`convert`]: platform events ↔ the core's requests and responses (`payload`);
//! - [`invoke`]: `lambda:` upstreams, the Invoke API (`payload`, `aws`);
//! - [`upstream`]: the upstream port, HTTP or invoke (`invoke`);
//! - [`platform`]: every port of a container, from the environment (all of the above but `convert`).

pub mod payload;

pub mod aws;
pub mod dynamo_kv;
pub mod dynamo_limiter;

pub mod convert;
pub mod invoke;

pub mod upstream;

pub mod platform;
