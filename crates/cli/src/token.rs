//! `tollgate token`: mints an HS256 JWT for development (never for
//! production credentials: the secret is on the command line).

use clap::Args;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Args)]
pub(crate) struct TokenArgs {
    /// The HMAC secret (the issuer's `secret`).
    #[arg(long)]
    secret: String,
    /// The `sub` claim.
    #[arg(long)]
    sub: Option<String>,
    /// Space-separated scopes (the `scope` claim).
    #[arg(long)]
    scope: Option<String>,
    /// The `aud` claim.
    #[arg(long)]
    aud: Option<String>,
    /// The `iss` claim.
    #[arg(long)]
    iss: Option<String>,
    /// Lifetime, like 30s, 15m, 1h, 1d.
    #[arg(long, default_value = "1h")]
    ttl: String,
}

pub(crate) fn run(args: &TokenArgs) -> ExitCode {
    match mint(args) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// A development token for `secret` with the given subject, valid for an hour.
pub(crate) fn demo_token(secret: &str, sub: &str) -> Result<String, String> {
    mint(&TokenArgs {
        secret: secret.to_owned(),
        sub: Some(sub.to_owned()),
        scope: None,
        aud: None,
        iss: None,
        ttl: "1h".to_owned(),
    })
}

fn mint(args: &TokenArgs) -> Result<String, String> {
    if args.secret.is_empty() {
        return Err("--secret is empty".into());
    }
    let ttl = tollgate_core::config::parse_duration(&args.ttl).map_err(|e| format!("--ttl: {e}"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
    let mut claims = serde_json::Map::new();
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ttl.as_secs()).into());
    for (name, value) in [("sub", &args.sub), ("scope", &args.scope), ("aud", &args.aud), ("iss", &args.iss)] {
        if let Some(v) = value {
            claims.insert(name.into(), v.clone().into());
        }
    }
    let key = jsonwebtoken::EncodingKey::from_secret(args.secret.as_bytes()).map_err(|e| format!("--secret: {e}"))?;
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key)
        .map_err(|e| format!("cannot sign the token: {e}"))
}
