//! The upstream port on tokio: a pooled reqwest client (HTTP/1.1, rustls)
//! that never follows redirects, never decompresses and ignores proxy
//! variables: what the backend said is what the client gets.

use bytes::Bytes;
use std::future::Future;
use std::time::Duration;
use tollgate_core::platform::{MaybeSend, UpstreamClient, UpstreamError};

/// Largest upstream body the gateway buffers (larger: 502).
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ReqwestUpstream {
    client: reqwest::Client,
}

impl ReqwestUpstream {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ReqwestUpstream { client })
    }
}

fn classify(e: &reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout
    } else if e.is_connect() {
        UpstreamError::Connect(e.to_string())
    } else {
        UpstreamError::Protocol(e.to_string())
    }
}

impl UpstreamClient for ReqwestUpstream {
    fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend {
        let client = self.client.clone();
        async move {
            let mut req = reqwest::Request::try_from(request).map_err(|e| UpstreamError::Protocol(e.to_string()))?;
            *req.timeout_mut() = Some(timeout);
            let mut resp = client.execute(req).await.map_err(|e| classify(&e))?;
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
                if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
                    return Err(UpstreamError::Protocol("response body over the size cap".into()));
                }
                body.extend_from_slice(&chunk);
            }
            let mut out = http::Response::new(Bytes::from(body));
            *out.status_mut() = resp.status();
            *out.version_mut() = http::Version::HTTP_11;
            *out.headers_mut() = std::mem::take(resp.headers_mut());
            Ok(out)
        }
    }
}
