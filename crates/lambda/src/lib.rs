//! The parts of the Lambda adapter that integration tests reach: the ports
//! of a Lambda container ([`platform`]), and the key-value and limiter
//! stores on DynamoDB ([`dynamo_kv`], [`dynamo_limiter`]). The function
//! itself is the `tollgate-lambda` binary (src/main.rs).

pub mod dynamo_kv;
pub mod dynamo_limiter;
pub mod platform;
