//! The upstream port on Workers: the runtime's `fetch` (through
//! `worker::Fetch`), with `redirect: "manual"` so a backend's redirect reaches
//! the client as it was sent. The JS request is built from `web_sys`'s
//! `RequestInit` rather than `worker::RequestInit`, whose method enum would
//! turn an unknown method into GET. The response body is read in full, up to
//! the request's [`UpstreamBodyLimit`] (an isolate has 128 MB): a declared
//! `Content-Length` over it is refused before reading, a body passing it
//! while streaming is refused at once, and the buffer is sized from the
//! declared length so the body is copied once out of JS and never regrown.
//!
//! A request the core marks with [`UpstreamTarget::Binding`] (an upstream
//! declared `binding: NAME`) goes to that Workers service binding
//! (`env.service(NAME)`) instead of the global `fetch`: the same JS request
//! (its URL host is the core's placeholder; the path and query are what the
//! bound Worker routes on), the same response handling. The JS `fetch` of the
//! binding's `Fetcher` is called directly, so its answer is a JS `Response`
//! like the global fetch's (worker's `Fetcher::fetch_request` would convert it
//! into an `http::Response` with a streaming body of its own).

use crate::convert::{header_map, header_text};
use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;
use std::future::Future;
use std::time::Duration;
use tollgate_core::body::{CappedBody, TooLarge};
use tollgate_core::platform::{MaybeSend, UpstreamBodyLimit, UpstreamClient, UpstreamError, UpstreamTarget};
use worker::js_sys;
use worker::wasm_bindgen::JsCast;
use worker::web_sys;
use worker::worker_sys;

/// Built per request, with that request's `Env` (for service bindings).
#[derive(Debug, Clone)]
pub struct FetchUpstream {
    env: worker::Env,
}

impl FetchUpstream {
    pub fn new(env: &worker::Env) -> Self {
        FetchUpstream { env: env.clone() }
    }

    /// Where the request goes: the global fetch (`None`) or a service
    /// binding's `Fetcher`. Resolved before sending, so a missing binding is
    /// a `Connect` error like a refused connection.
    fn route(&self, request: &http::Request<Bytes>) -> Result<Option<worker_sys::Fetcher>, UpstreamError> {
        match request.extensions().get::<UpstreamTarget>() {
            None => Ok(None),
            Some(UpstreamTarget::Binding(name)) => match self.env.service(name) {
                Ok(fetcher) => Ok(Some(fetcher.into_rpc::<worker_sys::Fetcher>())),
                Err(e) => {
                    tracing::debug!(binding = %name, error = %e, "service binding unavailable");
                    Err(UpstreamError::Connect(format!("no service binding {name}")))
                }
            },
            Some(UpstreamTarget::Lambda(name)) => {
                Err(UpstreamError::Connect(format!("lambda {name}: Workers cannot invoke a Lambda function directly")))
            }
        }
    }
}

fn js_message(e: &worker::wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| format!("{e:?}"))
}

fn build_request(request: http::Request<Bytes>) -> Result<web_sys::Request, UpstreamError> {
    let (parts, body) = request.into_parts();
    let connect =
        |what: &str, e: worker::wasm_bindgen::JsValue| UpstreamError::Connect(format!("{what}: {}", js_message(&e)));
    let headers = web_sys::Headers::new().map_err(|e| connect("headers", e))?;
    for (name, value) in &parts.headers {
        headers.append(name.as_str(), &header_text(value)).map_err(|e| connect("header", e))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(parts.method.as_str());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    // fetch() refuses a body on GET and HEAD.
    if !body.is_empty() && parts.method != Method::GET && parts.method != Method::HEAD {
        init.set_body(&js_sys::Uint8Array::from(body.as_ref()));
    }
    web_sys::Request::new_with_str_and_init(&parts.uri.to_string(), &init).map_err(|e| connect("request", e))
}

/// Sends through a service binding's `Fetcher`: its JS `fetch(request)`.
async fn fetch_binding(fetcher: &worker_sys::Fetcher, request: &web_sys::Request) -> Result<worker::Response, String> {
    let promise = fetcher.fetch(request).map_err(|e| js_message(&e))?;
    let value = worker::wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| js_message(&e))?;
    let resp: web_sys::Response = value.dyn_into().map_err(|v| format!("not a Response: {v:?}"))?;
    Ok(worker::Response::from(resp))
}

async fn send(
    request: http::Request<Bytes>,
    binding: Option<worker_sys::Fetcher>,
) -> Result<http::Response<Bytes>, UpstreamError> {
    let cap = UpstreamBodyLimit::of(&request);
    let js_request = build_request(request)?;
    let mut resp = match binding {
        None => worker::Fetch::Request(worker::Request::from(js_request)).send().await.map_err(|e| e.to_string()),
        Some(fetcher) => fetch_binding(&fetcher, &js_request).await,
    }
    .map_err(UpstreamError::Connect)?;
    let status = http::StatusCode::from_u16(resp.status_code()).map_err(|e| UpstreamError::Protocol(e.to_string()))?;
    let (headers, bad) = header_map(&resp.headers().0);
    if !bad.is_empty() {
        tracing::debug!(headers = ?bad, "upstream response headers dropped: not valid HTTP");
    }
    let too_large = |e: TooLarge| UpstreamError::Protocol(e.to_string());
    let mut body = CappedBody::new(&headers, cap).map_err(too_large)?;
    // No stream: the response has no body (`null` in JS).
    if let Ok(mut stream) = resp.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| UpstreamError::Protocol(e.to_string()))?;
            body.push_owned(chunk).map_err(too_large)?;
        }
    }
    let mut out = http::Response::new(Bytes::from(body.into_vec()));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

impl UpstreamClient for FetchUpstream {
    fn send(
        &self,
        request: http::Request<Bytes>,
        _timeout: Duration,
    ) -> impl Future<Output = Result<http::Response<Bytes>, UpstreamError>> + MaybeSend {
        // The core races this future against its own deadline; neither fetch
        // nor a binding's fetch has a timeout of its own to set.
        let route = self.route(&request);
        async move { send(request, route?).await }
    }
}
