//! The parts of the Lambda adapter that integration tests reach: the ports
//! of a Lambda container ([`platform`]), the key-value and limiter stores on
//! DynamoDB ([`dynamo_kv`], [`dynamo_limiter`]) and the upstream client that
//! also invokes functions ([`upstream`]). The function
//! itself is the `tollgate-lambda` binary (src/main.rs).

pub mod dynamo_kv;
pub mod dynamo_limiter;
pub mod platform;
pub mod upstream;
