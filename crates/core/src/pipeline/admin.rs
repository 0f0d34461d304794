//! The admin API under `/_gateway/` (spec §5): the bearer-token check
//! (constant time) and the endpoints' bodies. `health` is public and answered
//! in the pipeline; everything else needs `admin.token`.

use crate::Gateway;
use crate::error::GatewayError;
use http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Compares the presented bearer token with the configured one in constant
/// time (both hashed first, so that their lengths do not leak either).
pub(crate) fn check_token(expected: &str, headers: &HeaderMap) -> Result<(), GatewayError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        let presented = headers.contains_key(header::AUTHORIZATION);
        return Err(GatewayError::Unauthorized { invalid_token: presented });
    };
    let presented = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
    });
    let Some(presented) = presented else { return Err(GatewayError::Unauthorized { invalid_token: false }) };
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    if bool::from(a.as_slice().ct_eq(b.as_slice())) {
        Ok(())
    } else {
        Err(GatewayError::Unauthorized { invalid_token: true })
    }
}

/// `GET /_gateway/routes`: the compiled route table.
pub(crate) fn routes(gateway: &Gateway) -> serde_json::Value {
    let routes: Vec<serde_json::Value> = gateway
        .routes
        .iter()
        .map(|r| {
            let upstream = r.upstream.and_then(|u| gateway.upstreams.get(u));
            serde_json::json!({
                "id": r.id,
                "path": r.pattern,
                "methods": r.methods.as_ref().map(|ms| ms.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
                "upstream": upstream.map(|u| u.name.clone()),
                "targets": upstream.map(|u| u.targets.iter().map(|t| serde_json::json!({
                    "url": format!("{}://{}{}", t.scheme, t.authority, t.base_path),
                    "weight": t.weight,
                    "health": "unknown",
                })).collect::<Vec<_>>()),
                "auth": r.policy.schemes.iter().map(|s| match s {
                    crate::auth::Scheme::Jwt(i) => gateway.auth.jwt.get(*i).map(|j| format!("jwt:{}", j.issuer.name)),
                    crate::auth::Scheme::ApiKey(i) => gateway.auth.api_keys.get(*i).map(|k| format!("api_key:{}", k.name)),
                }).collect::<Vec<_>>(),
                "scopes": r.policy.scopes,
            })
        })
        .collect();
    serde_json::json!({ "routes": routes })
}
