//! The AWS SDK config every client of a container starts from (DynamoDB for
//! the stores, Lambda for `lambda:` upstreams): region, credentials and
//! endpoints from the environment.

use aws_config::BehaviorVersion;
use aws_config::SdkConfig;

/// Region, credentials and endpoints (`AWS_ENDPOINT_URL_DYNAMODB`,
/// `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL`) from the environment.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
