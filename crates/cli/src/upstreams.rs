//! `tollgate upstreams`: an operator's view of a running gateway's upstreams
//! through its admin API — `show` an upstream's targets and health, `set`
//! its targets at run time (`URL` or `URL=WEIGHT`), `reset` it to the
//! config's. Exit 0 when the gateway accepted; 1 with its problem otherwise.

use bytes::Bytes;
use std::process::ExitCode;
use std::time::Duration;
use tollgate_core::platform::UpstreamClient;
use tollgate_native::HyperUpstream;

/// How long the gateway may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The admin API to talk to.
#[derive(clap::Args)]
pub(crate) struct Admin {
    /// The gateway's base URL, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    admin: String,
    /// The gateway's `admin.token`.
    #[arg(long)]
    token: String,
}

#[derive(clap::Subcommand)]
pub(crate) enum UpstreamsCommand {
    /// Show an upstream's targets, weights, health and version.
    Show {
        /// The upstream's name in the config.
        name: String,
        #[command(flatten)]
        admin: Admin,
    },
    /// Replace an upstream's targets on every instance (within 15 s).
    Set {
        /// The upstream's name in the config.
        name: String,
        /// `URL` or `URL=WEIGHT` (weight 0–1000, default 100), one or more.
        #[arg(required = true)]
        targets: Vec<String>,
        #[command(flatten)]
        admin: Admin,
        /// Only if the targets are still at this version (`show` prints it).
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Go back to the config's targets.
    Reset {
        /// The upstream's name in the config.
        name: String,
        #[command(flatten)]
        admin: Admin,
        /// Only if the targets are still at this version.
        #[arg(long)]
        if_match: Option<u64>,
    },
}

/// `URL=WEIGHT` → (URL, Some(WEIGHT)); a `=` not followed by a number is part of the URL.
fn target(arg: &str) -> serde_json::Value {
    match arg.rsplit_once('=') {
        Some((url, weight)) if weight.parse::<u32>().is_ok() => {
            serde_json::json!({ "url": url, "weight": weight.parse::<u32>().unwrap_or(100) })
        }
        _ => serde_json::json!({ "url": arg }),
    }
}

pub(crate) fn run(command: UpstreamsCommand) -> ExitCode {
    let (method, name, admin, body, if_match) = match command {
        UpstreamsCommand::Show { name, admin } => (http::Method::GET, name, admin, None, None),
        UpstreamsCommand::Set { name, targets, admin, if_match } => {
            let list: Vec<serde_json::Value> = targets.iter().map(|t| target(t)).collect();
            (http::Method::PUT, name, admin, Some(serde_json::json!({ "targets": list })), if_match)
        }
        UpstreamsCommand::Reset { name, admin, if_match } => (http::Method::DELETE, name, admin, None, if_match),
    };
    let suffix = if method == http::Method::GET { "" } else { "/targets" };
    let url = format!("{}/_gateway/upstreams/{name}{suffix}", admin.admin.trim_end_matches('/'));
    crate::run_async(async move {
        let mut request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header(http::header::AUTHORIZATION, format!("Bearer {}", admin.token))
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(v) = if_match {
            request = request.header(http::header::IF_MATCH, format!("\"{v}\""));
        }
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = request.body(body).map_err(|e| format!("{url}: {e}"))?;
        let response = HyperUpstream::new().send(request, TIMEOUT).await.map_err(|e| format!("{url}: {e}"))?;
        let text = String::from_utf8_lossy(response.body());
        let shown = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| text.into_owned());
        if response.status().is_success() {
            println!("{shown}");
            Ok(())
        } else {
            Err(format!("{url}: {}\n{shown}", response.status()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_may_carry_a_weight() {
        assert_eq!(target("http://a:1=3"), serde_json::json!({ "url": "http://a:1", "weight": 3 }));
        assert_eq!(target("http://a:1"), serde_json::json!({ "url": "http://a:1" }));
        assert_eq!(target("http://a:1/p=x"), serde_json::json!({ "url": "http://a:1/p=x" }));
    }
}
