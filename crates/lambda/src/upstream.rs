//! The upstream port on Lambda: plain HTTP upstreams through the hyper client
//! of `tollgate-native`, `lambda:` upstreams (requests the core marks with
//! [`UpstreamTarget::Lambda`]) through the Lambda Invoke API
//! ([`crate::invoke`]). Workers service bindings do not exist here.

use crate::invoke::Invoker;
use aws_config::SdkConfig;
use bytes::Bytes;
use http::{Request, Response};
use std::time::Duration;
use tollgate_core::platform::{UpstreamClient, UpstreamError, UpstreamTarget};
use tollgate_native::HyperUpstream;

/// What a Lambda container sends upstream: HTTP, or a function invoke.
pub struct LambdaUpstream {
    http: HyperUpstream,
    invoker: Invoker,
}

impl std::fmt::Debug for LambdaUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaUpstream").field("lambda_client", &self.invoker.has_client()).finish_non_exhaustive()
    }
}

impl LambdaUpstream {
    /// The client over `http`; `sdk` is the AWS config when it is already
    /// loaded (else it is loaded on the first invoke).
    pub fn new(http: HyperUpstream, sdk: Option<SdkConfig>) -> Self {
        LambdaUpstream { http, invoker: Invoker::new(sdk) }
    }
}

impl UpstreamClient for LambdaUpstream {
    async fn send(&self, request: Request<Bytes>, timeout: Duration) -> Result<Response<Bytes>, UpstreamError> {
        match request.extensions().get::<UpstreamTarget>().cloned() {
            None => self.http.send(request, timeout).await,
            Some(UpstreamTarget::Binding(_)) => {
                Err(UpstreamError::Connect("service bindings exist only on Workers".into()))
            }
            Some(UpstreamTarget::Lambda(function)) => {
                tokio::time::timeout(timeout, self.invoker.invoke(&function, request))
                    .await
                    .unwrap_or(Err(UpstreamError::Timeout))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str) -> Request<Bytes> {
        Request::builder().uri(uri).body(Bytes::new()).expect("request")
    }

    #[tokio::test]
    async fn bindings_are_refused_and_http_goes_to_the_http_client() {
        let upstream = LambdaUpstream::new(HyperUpstream::new(), None);
        let mut req = request("http://binding.internal/x");
        req.extensions_mut().insert(UpstreamTarget::Binding("ORDERS".into()));
        assert_eq!(
            upstream.send(req, Duration::from_secs(1)).await.map(|_| ()),
            Err(UpstreamError::Connect("service bindings exist only on Workers".into()))
        );
        // Plain HTTP to a port nobody listens on: the hyper client's connect error.
        let req = request("http://127.0.0.1:1/x");
        assert!(matches!(upstream.send(req, Duration::from_secs(5)).await, Err(UpstreamError::Connect(_))));
        assert_eq!(format!("{upstream:?}"), "LambdaUpstream { lambda_client: false, .. }");
    }
}
