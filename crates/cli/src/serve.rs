//! `tollgate serve`: the local server. hyper 1 (HTTP/1.1) on tokio, with
//! explicit header-size and header-read-timeout limits; each request is read
//! up to the body limit, handed to the core, and the answer written back.

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
use tollgate_core::platform::{Clock, Runtime};
use tollgate_core::{ClientInfo, Gateway, GatewayError};
use tollgate_native::NativePlatform;

/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn run_file(path: &Path, listen: SocketAddr) -> ExitCode {
    crate::run_async(async move {
        let gateway = crate::check::load(path)?;
        let cannot = gateway.unsupported_on(Runtime::Local);
        if !cannot.is_empty() {
            let name = path.display();
            let lines: Vec<String> = cannot
                .iter()
                .map(|f| format!("{name}:{}:{}: {}", f.location.line, f.location.col, f.message))
                .collect();
            return Err(lines.join("\n"));
        }
        let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        serve(listener, gateway).await
    })
}

/// Serves until SIGINT/SIGTERM. Prints the address it listens on.
pub(crate) async fn serve(listener: TcpListener, gateway: Gateway) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let platform = Arc::new(NativePlatform::new(Runtime::Local));
    let gateway = Arc::new(gateway);
    println!("tollgate listening on http://{addr}");
    tracing::info!(%addr, "listening");
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
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let platform = platform.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gateway = gateway.clone();
                let platform = platform.clone();
                async move { Ok::<_, Infallible>(handle(&gateway, &platform, req, peer).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(max_buf)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}

async fn handle(
    gateway: &Gateway,
    platform: &NativePlatform,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let started = platform.clock.now();
    let (parts, body) = req.into_parts();
    let limit = gateway.max_body_bytes();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        let mut resp = gateway.reject(platform, started, GatewayError::PayloadTooLarge { limit }, &parts.headers);
        // The rest of the body is not read: the connection cannot be reused.
        resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        resp.map(Full::new)
    };
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, cap).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return too_large();
        }
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
            return gateway
                .reject(
                    platform,
                    started,
                    GatewayError::BadRequest("The request body could not be read.".into()),
                    &parts.headers,
                )
                .map(Full::new);
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
