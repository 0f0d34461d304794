//! The upstream port on tokio: a pooled hyper client (HTTP/1.1, keep-alive,
//! rustls with the webpki roots for https targets). It never follows
//! redirects, never decompresses and ignores proxy variables: what the
//! backend said is what the client gets.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::future::Future;
use std::time::Duration;
use tollgate_core::platform::{MaybeSend, UpstreamClient, UpstreamError};

/// Largest upstream body the gateway buffers (larger: 502).
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct HyperUpstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HyperUpstream {
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(https);
        HyperUpstream { client }
    }
}

impl Default for HyperUpstream {
    fn default() -> Self {
        Self::new()
    }
}

fn classify(e: &hyper_util::client::legacy::Error) -> UpstreamError {
    if e.is_connect() { UpstreamError::Connect(e.to_string()) } else { UpstreamError::Protocol(e.to_string()) }
}

impl UpstreamClient for HyperUpstream {
    fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend {
        let call = self.client.request(request.map(Full::new));
        async move {
            let exchange = async {
                let resp = call.await.map_err(|e| classify(&e))?;
                let (parts, body) = resp.into_parts();
                let body = Limited::new(body, MAX_UPSTREAM_BODY)
                    .collect()
                    .await
                    .map_err(|e| UpstreamError::Protocol(format!("response body: {e}")))?
                    .to_bytes();
                Ok(http::Response::from_parts(parts, body))
            };
            tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(UpstreamError::Timeout))
        }
    }
}
