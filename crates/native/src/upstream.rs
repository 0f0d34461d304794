//! The upstream port on tokio: a pooled hyper client (HTTP/1.1, keep-alive,
//! rustls with the webpki roots for https targets). It never follows
//! redirects, never decompresses and ignores proxy variables: what the
//! backend said is what the client gets. The answer body is read up to the
//! request's [`UpstreamBodyLimit`]: a declared `Content-Length` over it is
//! refused before reading, and a body that passes it while streaming is
//! refused at once (the connection is dropped, not drained).

use crate::AnswerMemory;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::future::Future;
use std::time::Duration;
use tollgate_core::body::{CappedBody, TooLarge};
use tollgate_core::platform::{MaybeSend, UpstreamBodyLimit, UpstreamClient, UpstreamError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct HyperUpstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The budget answer bodies are read into (none: only the per-request cap).
    memory: Option<AnswerMemory>,
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
        HyperUpstream { client, memory: None }
    }

    /// Reads every answer body into `memory` ([`AnswerMemory`]).
    pub fn with_memory(mut self, memory: AnswerMemory) -> Self {
        self.memory = Some(memory);
        self
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
        let cap = UpstreamBodyLimit::of(&request);
        let memory = self.memory.clone();
        let call = self.client.request(request.map(Full::new));
        async move {
            let exchange = async {
                let resp = call.await.map_err(|e| classify(&e))?;
                let (parts, body) = resp.into_parts();
                let body = read_capped(&parts.headers, body, cap, memory.as_ref()).await?;
                Ok(http::Response::from_parts(parts, body))
            };
            tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(UpstreamError::Timeout))
        }
    }
}

/// Reads an answer body of at most `cap` bytes: `Content-Length` first, then
/// counting every frame, so nothing past the cap is ever held; with
/// `memory`, every frame is taken from that budget first (none left:
/// `Overloaded`), and the answer gives it back when its last byte is dropped.
pub(crate) async fn read_capped<B>(
    headers: &http::HeaderMap,
    body: B,
    cap: u64,
    memory: Option<&AnswerMemory>,
) -> Result<Bytes, UpstreamError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let too_large = |e: TooLarge| UpstreamError::Protocol(e.to_string());
    let mut buf = CappedBody::new(headers, cap).map_err(too_large)?;
    let mut body = std::pin::pin!(body);
    let mut held = memory.map(AnswerMemory::hold);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| UpstreamError::Protocol(format!("response body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            buf.admit(data.len()).map_err(too_large)?;
            if let (Some(held), Some(memory)) = (held.as_mut(), memory)
                && !held.grow(memory, data.len() as u64)
            {
                return Err(UpstreamError::Overloaded);
            }
            buf.push(&data).map_err(too_large)?;
        }
    }
    let buf = buf.into_vec();
    Ok(match held {
        Some(held) => crate::answer_memory::owned_bytes(buf, held),
        None => Bytes::from(buf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Frame;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body of `n` frames of `size` bytes.
    struct Frames(VecDeque<Bytes>);

    impl hyper::body::Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn frames(n: usize, size: usize) -> Frames {
        Frames((0..n).map(|_| Bytes::from(vec![b'x'; size])).collect())
    }

    #[tokio::test]
    async fn a_body_at_the_cap_is_read_and_one_byte_more_is_refused() {
        let h = http::HeaderMap::new();
        assert_eq!(read_capped(&h, frames(4, 250), 1000, None).await.map(|b| b.len()), Ok(1000));
        assert!(read_capped(&h, frames(5, 250), 1000, None).await.is_err());
        assert!(read_capped(&h, frames(1, 1001), 1000, None).await.is_err());
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, "1001".parse().expect("value"));
        // An empty body: only the declaration can refuse it.
        assert!(read_capped(&h, frames(0, 0), 1000, None).await.is_err());
    }

    #[tokio::test]
    async fn answers_are_read_into_the_memory_budget_and_give_it_back() {
        let h = http::HeaderMap::new();
        let memory = AnswerMemory::new(1000);
        let first = read_capped(&h, frames(3, 250), 10_000, Some(&memory)).await.expect("750 fit");
        assert_eq!(memory.held(), 750);
        let refused = read_capped(&h, frames(2, 250), 10_000, Some(&memory)).await;
        assert_eq!(refused, Err(UpstreamError::Overloaded), "750 + 500 > 1000");
        assert_eq!(memory.held(), 750, "what the refused answer took came back");
        drop(first);
        assert_eq!(memory.held(), 0);
        assert!(read_capped(&h, frames(2, 250), 10_000, Some(&memory)).await.is_ok());
    }
}
