//! The parts of the Lambda adapter that integration tests reach: the ports
//! of a Lambda container ([`platform`]) and the key-value store on DynamoDB
//! ([`dynamo_kv`]). The function itself is the `tollgate-lambda` binary
//! (src/main.rs).

pub mod dynamo_kv;
pub mod platform;
