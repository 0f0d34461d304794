//! `lambda:` upstreams: requests the core marks with
//! [`UpstreamTarget::Lambda`](tollgate_core::platform::UpstreamTarget) go to
//! the function with the Lambda Invoke API (synchronous `RequestResponse`),
//! not over HTTP.
//!
//! The function gets what an API Gateway HTTP API (payload format 2.0) would
//! send it ([`invoke_event`]), so that functions written for an HTTP API (or
//! a function URL) work behind the gateway unchanged, and its answer is read
//! the way API Gateway reads it ([`response_of`]): a proxy response
//! (`statusCode`, `headers`, `multiValueHeaders`, `cookies`, `body`,
//! `isBase64Encoded`), or any other JSON as a 200 `application/json` body.
//! Both payloads are the typed ones of [`crate::payload`].
//!
//! What the function returns is never trusted: an answer that cannot be read
//! is `UpstreamError::Protocol` (the client gets a 502), as is a function
//! error (`FunctionError` set: the function threw, timed out or crashed). An
//! invoke Lambda refuses (no such function, throttled, access denied) or that
//! cannot be sent is `UpstreamError::Connect` ([`errors`]). The SDK does not
//! retry: a retried invoke would run the function twice.
//!
//! The AWS client is built on the first invoke (or at cold start, sharing the
//! config the DynamoDB stores load), from the environment: credentials and
//! region as for every SDK client, `AWS_ENDPOINT_URL_LAMBDA` (or
//! `AWS_ENDPOINT_URL`) to point it at an emulator such as `cargo lambda watch`.

mod answer;
mod errors;
mod event;

pub use answer::{MAX_PAYLOAD, response_of};
pub use event::invoke_event;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use bytes::Bytes;
use http::{Request, Response};
use std::time::SystemTime;
use tokio::sync::OnceCell;
use tollgate_core::platform::{UpstreamBodyLimit, UpstreamError};

/// Invokes functions; the AWS client is made on first use.
pub struct Invoker {
    sdk: OnceCell<SdkConfig>,
    client: OnceCell<Client>,
}

impl std::fmt::Debug for Invoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoker").field("client", &self.has_client()).finish_non_exhaustive()
    }
}

impl Invoker {
    /// `sdk` is the AWS config when it is already loaded (else it is loaded
    /// on the first invoke).
    pub fn new(sdk: Option<SdkConfig>) -> Self {
        Invoker { sdk: OnceCell::new_with(sdk), client: OnceCell::new() }
    }

    /// Whether the AWS client exists yet (it does after the first invoke).
    pub fn has_client(&self) -> bool {
        self.client.initialized()
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let sdk = self.sdk.get_or_init(crate::aws::sdk_config).await;
                // No retries: the gateway decides; a retried invoke runs the function twice.
                let config = aws_sdk_lambda::config::Builder::from(sdk).retry_config(RetryConfig::disabled()).build();
                Client::from_conf(config)
            })
            .await
    }

    /// Sends `request` to `function` (a name, `name:alias` or an ARN) and
    /// reads its answer. No timeout of its own: the caller bounds it.
    pub async fn invoke(&self, function: &str, request: Request<Bytes>) -> Result<Response<Bytes>, UpstreamError> {
        let cap = UpstreamBodyLimit::of(&request);
        let event = invoke_event(&request, SystemTime::now());
        let payload = serde_json::to_vec(&event).map_err(|e| UpstreamError::Protocol(format!("event: {e}")))?;
        let output = self
            .client()
            .await
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| errors::sdk_error(function, &e))?;
        let answer = output.payload().map(Blob::as_ref).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            return Err(UpstreamError::Protocol(errors::function_error(function, kind, answer)));
        }
        // The SDK hands the payload over whole (at most Lambda's 6 MB); the
        // cap applies to the body the function answered.
        let response = response_of(answer)?;
        if response.body().len() as u64 > cap {
            return Err(errors::protocol(format!("the function's answer is larger than {cap} bytes")));
        }
        Ok(response)
    }
}
