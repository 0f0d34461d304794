//! `tollgate demo`: runs examples/gateway.yaml (embedded) in front of two
//! in-process example backends on loopback (users on :9001, echo on :9002) and
//! prints curl commands that work when pasted.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::net::TcpListener;

const EXAMPLE: &str = include_str!("../../../examples/gateway.yaml");
const USERS_ADDR: &str = "127.0.0.1:9001";
/// The example config's demo secret and key (see examples/gateway.yaml).
const DEMO_SECRET: &str = "demo-only-secret-change-me-0123456789";
const DEMO_KEY: &str = "demo-key-123";
const ECHO_ADDR: &str = "127.0.0.1:9002";

pub(crate) fn run(listen: SocketAddr) -> ExitCode {
    crate::run_async(async move {
        let gateway = tollgate_core::load("examples/gateway.yaml", EXAMPLE, &|k| std::env::var(k).ok())
            .map_err(|e| e.to_string())?;
        let bind = |addr: &'static str| async move {
            TcpListener::bind(addr).await.map_err(|e| format!("cannot start the example backend on {addr}: {e}"))
        };
        let users = bind(USERS_ADDR).await?;
        let echo = bind(ECHO_ADDR).await?;
        let gw = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        tokio::spawn(backend(users, users_service));
        tokio::spawn(backend(echo, echo_service));
        let base = format!("http://{}", gw.local_addr().map_or(listen, |a| a));
        println!("Example backends: users on http://{USERS_ADDR}, echo on http://{ECHO_ADDR}");
        println!("Try these (in another terminal):");
        println!("  curl -i {base}/v1/users/42");
        println!("  curl -i {base}/v1/dashboard/42                        # two backends, one JSON answer");
        println!("  curl -i -X POST {base}/echo/hello -H 'content-type: application/json' -d '{{\"hi\":1}}'");
        println!("  curl -i {base}/_gateway/health");
        let token = crate::token::demo_token(DEMO_SECRET, "alice")?;
        println!("  curl -i {base}/v1/me -H 'authorization: Bearer {token}'");
        println!("  curl -i {base}/v1/me -H 'x-api-key: {DEMO_KEY}'");
        println!("  curl -i {base}/v1/me                                   # 401 problem+json");
        println!(
            "  for i in $(seq 21); do curl -s -o /dev/null -w '%{{http_code}} ' {base}/v1/users/42; done; echo   # 20/min: the 21st is 429"
        );
        println!("  curl -i --path-as-is '{base}/echo/../v1/users/42'    # normalised before matching");
        println!("  curl -i {base}/nowhere                                # 404 problem+json");
        println!("  curl -i -X DELETE {base}/v1/users/42                  # 405 with Allow");
        println!("Stop with Ctrl-C.");
        crate::serve::serve(gw, gateway).await
    })
}

type Resp = hyper::Response<Full<Bytes>>;

async fn backend<F, Fut>(listener: TcpListener, f: F)
where
    F: Fn(hyper::Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let service = service_fn(move |req| async move { Ok::<_, Infallible>(f(req).await) });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn json(status: u16, value: &serde_json::Value) -> Resp {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(value.to_string())));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(http::header::SERVER, http::HeaderValue::from_static("demo-users/1"));
    resp
}

/// `GET /users/{id}` → a made-up user; anything else 404.
async fn users_service(req: hyper::Request<Incoming>) -> Resp {
    let path = req.uri().path().to_owned();
    match path.strip_prefix("/users/") {
        Some(id) if !id.is_empty() && !id.contains('/') => {
            let source = req.headers().get("x-source").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            json(200, &serde_json::json!({"id": id, "name": format!("User {id}"), "seen_x_source": source}))
        }
        _ => json(404, &serde_json::json!({"error": "no such user"})),
    }
}

/// Answers with what it received: method, path, query, headers, body.
async fn echo_service(req: hyper::Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect();
    json(
        200,
        &serde_json::json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or(""),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        }),
    )
}
