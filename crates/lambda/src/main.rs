//! `tollgate-lambda`: the gateway as an AWS Lambda function (function URLs,
//! API Gateway HTTP and REST APIs, ALB).
//!
//! The config is loaded once at cold start (see [`config`]); a config that
//! does not load is logged line by line and the process exits non-zero, so
//! Lambda reports an init error. Each invocation event
//! (`tollgate_lambda::payload::Event`) is converted to the core's request
//! (`tollgate_lambda::convert`), handled by the core on the container's ports
//! (`tollgate_lambda::platform`: the tokio ports from `tollgate-native`, the
//! key-value store on DynamoDB when `TOLLGATE_TABLE` is set), and converted
//! back. The adapter holds no gateway logic.
//!
//! The events are read by `tollgate_lambda::payload` rather than through
//! `lambda_http`, whose own conversion builds the URI with `url::Url` (dot
//! segments removed, `%2e` decoded, `\` turned into `/`: the core would never
//! see the attack), keeps only the last value of REST multi-value headers,
//! panics on a raw query holding `"`, `<`, `>` or a space, and re-encodes
//! response bodies by their `Content-Type`.

mod config;

use lambda_runtime::{LambdaEvent, service_fn};
use std::process::ExitCode;
use std::sync::Arc;
use tollgate_core::Gateway;
use tollgate_core::platform::{Clock, Platform};
use tollgate_lambda::convert;
use tollgate_lambda::payload::{Event, ProxyResponse};
use tollgate_lambda::platform::LambdaPlatform;
use tracing_subscriber::EnvFilter;

fn init_logging() {
    // RUST_LOG first; else Lambda's own log-level setting; else info.
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().filter(|l| !l.trim().is_empty());
    let filter = EnvFilter::try_from_default_env()
        .ok()
        .or_else(|| lambda_level.and_then(|level| EnvFilter::try_new(level.to_lowercase()).ok()))
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().json().with_env_filter(filter).with_ansi(false).with_current_span(false).try_init();
}

/// The variables Lambda (or an emulator) sets and `lambda_runtime` insists
/// on, panicking without them; the first one missing.
fn missing_lambda_variable() -> Option<&'static str> {
    let present = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    let memory_ok = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").is_ok_and(|v| v.parse::<i32>().is_ok());
    ["AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION"]
        .into_iter()
        .find(|name| !present(name))
        .or((!memory_ok).then_some("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
}

/// Everything an invocation needs, built once per container.
struct State {
    gateway: Gateway,
    platform: LambdaPlatform,
}

async fn invoke(state: Arc<State>, event: LambdaEvent<Event>) -> Result<ProxyResponse, lambda_runtime::Error> {
    let started = state.platform.clock().now();
    let incoming = convert::incoming(event.payload);
    let response = match incoming.request {
        convert::Converted::Request(request) => state.gateway.handle(&state.platform, request, incoming.client).await,
        convert::Converted::Refused { error, headers } => {
            tracing::debug!(error = ?error, "event not convertible");
            state.gateway.reject(&state.platform, started, error, &headers)
        }
    };
    Ok(convert::outgoing(response, incoming.kind))
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let (gateway, source) = match config::load_from_environment() {
        Ok(loaded) => loaded,
        Err(problems) => {
            for problem in &problems {
                tracing::error!(target: "tollgate::config", "{problem}");
            }
            tracing::error!(target: "tollgate::config", errors = problems.len(), "the gateway config did not load; exiting");
            return ExitCode::from(1);
        }
    };
    tracing::info!(config = %source, routes = gateway.routes().len(), "gateway loaded");
    if let Some(name) = missing_lambda_variable() {
        tracing::error!(
            variable = name,
            "not running under AWS Lambda ({name} is not set); run it locally with `cargo lambda watch`"
        );
        return ExitCode::from(1);
    }
    let platform = tollgate_lambda::platform::from_env().await;
    let state = Arc::new(State { gateway, platform });
    let served = lambda_runtime::run(service_fn(move |event| invoke(Arc::clone(&state), event))).await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime stopped");
            ExitCode::from(1)
        }
    }
}
