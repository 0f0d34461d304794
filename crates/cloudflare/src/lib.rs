//! Tollgate on Cloudflare Workers: the `fetch` handler that turns a Workers
//! request into an `http::Request`, runs it through the core `Gateway`, and
//! turns the answer back into a Workers response. Everything here is
//! conversion and ports; the gateway's behaviour lives in `tollgate-core`.
//! The module also exports the `LimiterObject` Durable Object class (the
//! exact limiter store, bound as `TOLLGATE_LIMITER`).
//!
//! Built with `worker-build` (see `scripts/build-worker.sh` and the root
//! `wrangler.toml`); the config is embedded at build time (`TOLLGATE_CONFIG`).

#![cfg(target_family = "wasm")]

mod clock;
mod convert;
mod isolate;
mod kv;
mod limiter;
mod limiter_object;
mod logging;
mod platform;
mod upstream;

use bytes::Bytes;
use tollgate_core::GatewayError;
use tollgate_core::platform::{Clock, Platform, Timestamp};
use worker::{Context, Env, event, web_sys};

#[event(start)]
fn start() {
    logging::init();
}

#[event(fetch)]
async fn fetch(mut req: worker::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let isolate = isolate::get(&env);
    match &isolate.gateway {
        Ok(gateway) => {
            let platform = platform::WorkersPlatform::new(&isolate.stores, &env);
            let started = platform.clock().now();
            let response = serve(gateway, &platform, started, &mut req).await;
            convert::to_worker_response(response, || {
                let (headers, _) = convert::header_map(&req.inner().headers());
                gateway.reject(&platform, started, GatewayError::UpstreamBadResponse, &headers)
            })
        }
        Err(detail) => {
            convert::to_worker_response(isolate::misconfigured(detail), || GatewayError::Internal.to_response(""))
        }
    }
}

/// Converts the request (head, then body up to the gateway's limit) and lets
/// the core answer it; what cannot be converted is refused by the core's
/// `reject`, so it looks like any other gateway error.
async fn serve(
    gateway: &tollgate_core::Gateway,
    platform: &platform::WorkersPlatform<'_>,
    started: Timestamp,
    req: &mut worker::Request,
) -> http::Response<Bytes> {
    let (head, headers) = convert::request_head(req.inner());
    let head = match head {
        Ok(head) => head,
        Err(why) => return gateway.reject(platform, started, GatewayError::BadRequest(why), &headers),
    };
    let body = match convert::read_body(req, &headers, gateway.max_body_bytes()).await {
        Ok(body) => body,
        Err(convert::BodyError::TooLarge) => {
            return gateway.reject(
                platform,
                started,
                GatewayError::PayloadTooLarge { limit: gateway.max_body_bytes() },
                &headers,
            );
        }
        Err(convert::BodyError::Unreadable(why)) => {
            tracing::debug!(error = %why, "request body unreadable");
            return gateway.reject(
                platform,
                started,
                GatewayError::BadRequest("The request body could not be read.".into()),
                &headers,
            );
        }
    };
    let client = head.client.clone();
    gateway.handle(platform, convert::into_request(head, headers, body), client).await
}
