//! `tollgate serve`: the local server. hyper 1 (HTTP/1.1) on tokio. Every
//! resource a client can make it hold is bounded (`limits` in the config):
//! open connections (`max_connections`; past it, a 503 and close), the
//! request head (`max_header_bytes`, `header_timeout`, which also closes
//! idle keep-alive connections), the body (`max_body_bytes`, and
//! `body_timeout` for the whole body after the head → 408 and close), and
//! writes to a client that stops reading (`send_timeout`). Framing hyper lets
//! through but RFC 9112 forbids is refused before the core sees the request
//! (`framing`). Each request is read whole, handed to the core, and the
//! answer written back.

mod framing;
mod limits;
mod send_timeout;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tollgate_core::platform::{Clock, Runtime, Timestamp};
use tollgate_core::{ClientInfo, Gateway, GatewayError};
use tollgate_native::{AnswerMemory, HyperUpstream, NativePlatform};

pub(crate) fn run_file(path: &Path, listen: SocketAddr) -> ExitCode {
    crate::run_async(async move {
        let gateway = crate::check::load(path)?;
        let cannot = gateway.unsupported_on(Runtime::Local);
        if !cannot.is_empty() {
            let name = path.display().to_string();
            let lines: Vec<String> = cannot.iter().map(|f| f.render(&name)).collect();
            return Err(lines.join("\n"));
        }
        let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        serve(listener, gateway).await
    })
}

/// Serves until SIGINT/SIGTERM. Prints the address it listens on.
pub(crate) async fn serve(listener: TcpListener, gateway: Gateway) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let bounds = *gateway.server_limits();
    let mut platform = NativePlatform::new(Runtime::Local);
    // Every upstream answer is read into one budget for the whole server.
    platform.upstream = HyperUpstream::new().with_memory(AnswerMemory::new(bounds.max_response_memory));
    let platform = Arc::new(platform);
    let gateway = Arc::new(gateway);
    let fd_cap = limits::default_max_connections();
    let max_connections = bounds.max_connections.unwrap_or(fd_cap);
    if max_connections > fd_cap {
        tracing::warn!(
            max_connections,
            fd_cap,
            "limits.max_connections is above what the file-descriptor limit allows"
        );
    }
    let slots = limits::Slots::new(max_connections);
    println!("tollgate listening on http://{addr}");
    tracing::info!(%addr, max_connections, "listening");
    // hyper's own 431 (no problem body) is only the last resort: the core
    // answers header blocks over the configured limit itself.
    let max_buf = usize::try_from(gateway.max_header_bytes()).unwrap_or(usize::MAX).saturating_mul(4).max(64 * 1024);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (EMFILE) among others: back off.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => {
                tracing::info!("shutting down");
                return Ok(());
            }
        };
        let Some(slot) = slots.take() else {
            tracing::warn!(%peer, max_connections, "connection refused: at the connection limit");
            limits::refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let platform = platform.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |req| {
                let gateway = gateway.clone();
                let platform = platform.clone();
                async move { Ok::<_, Infallible>(handle(&gateway, &platform, req, peer, bounds.body_timeout).await) }
            });
            let io = send_timeout::SendTimeout::new(stream, bounds.send_timeout);
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(bounds.header_timeout)
                .max_buf_size(max_buf)
                .keep_alive(true)
                .serve_connection(TokioIo::new(io), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}

/// A gateway error answered before the core ran, on a connection that
/// cannot be reused (the rest of the request was not read).
fn refuse_and_close(
    gateway: &Gateway,
    platform: &NativePlatform,
    started: Timestamp,
    error: GatewayError,
    headers: &http::HeaderMap,
) -> hyper::Response<Full<Bytes>> {
    let mut resp = gateway.reject(platform, started, error, headers);
    resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    resp.map(Full::new)
}

async fn handle(
    gateway: &Gateway,
    platform: &NativePlatform,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> hyper::Response<Full<Bytes>> {
    let started = platform.clock.now();
    let (parts, body) = req.into_parts();
    if let Err(why) = framing::check(&parts) {
        tracing::info!(%peer, why, "request refused: framing");
        return refuse_and_close(gateway, platform, started, GatewayError::BadRequest(why.into()), &parts.headers);
    }
    let limit = gateway.max_body_bytes();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large =
        || refuse_and_close(gateway, platform, started, GatewayError::PayloadTooLarge { limit }, &parts.headers);
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let read = tokio::time::timeout(body_timeout, Limited::new(body, cap).collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return too_large();
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "request body could not be read");
            let error = GatewayError::BadRequest("The request body could not be read.".into());
            return refuse_and_close(gateway, platform, started, error, &parts.headers);
        }
        Err(_) => {
            tracing::info!(%peer, timeout_ms = body_timeout.as_millis(), "request body not received in time");
            return refuse_and_close(gateway, platform, started, GatewayError::RequestTimeout, &parts.headers);
        }
    };
    let host = parts.uri.authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok());
    let client = ClientInfo { peer_ip: Some(peer.ip()), https: false, host };
    let request = http::Request::from_parts(parts, bytes);
    gateway.handle(platform, request, client).await.map(Full::new)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
