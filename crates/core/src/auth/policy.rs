//! Route policy on an authenticated (or any) request: IP allow/deny lists,
//! required scopes (`scope` string or `scp` array), and claim binding (a path
//! parameter must equal a claim).

use super::Identity;
use crate::error::GatewayError;
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Debug, Clone, Default)]
pub(crate) struct IpPolicy {
    pub allow: Vec<IpNet>,
    pub deny: Vec<IpNet>,
}

/// Parses a CIDR or a bare address (a /32 or /128).
pub(crate) fn parse_net(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR block"))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl IpPolicy {
    /// 403 outside `allow` (when it is set) or inside `deny`; an unknown client IP is refused when a list applies.
    pub(crate) fn check(&self, ip: Option<IpAddr>) -> Result<(), GatewayError> {
        let Some(ip) = ip.map(canonical) else {
            return Err(GatewayError::Forbidden("The client address is unknown."));
        };
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return Err(GatewayError::Forbidden("The client address is not allowed."));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|n| n.contains(&ip)) {
            return Err(GatewayError::Forbidden("The client address is not allowed."));
        }
        Ok(())
    }
}

/// The scopes a token grants: `scope` (space-separated) and/or `scp` (array or string).
fn granted(identity: &Identity) -> Vec<String> {
    let Some(claims) = &identity.claims else { return Vec::new() };
    let mut out = Vec::new();
    for key in ["scope", "scp"] {
        match claims.get(key) {
            Some(serde_json::Value::String(s)) => out.extend(s.split_whitespace().map(str::to_owned)),
            Some(serde_json::Value::Array(items)) => {
                out.extend(items.iter().filter_map(|v| v.as_str()).map(str::to_owned));
            }
            _ => {}
        }
    }
    out
}

/// 403 `insufficient_scope` unless every required scope is granted.
pub(crate) fn check_scopes(required: &[String], identity: &Identity) -> Result<(), GatewayError> {
    if required.is_empty() {
        return Ok(());
    }
    let have = granted(identity);
    if required.iter().all(|r| have.contains(r)) {
        Ok(())
    } else {
        Err(GatewayError::InsufficientScope { scope: required.join(" ") })
    }
}

/// 403 unless each bound path parameter equals its claim.
pub(crate) fn check_binding(
    bind: &[(String, String)],
    params: &[(String, String)],
    identity: &Identity,
) -> Result<(), GatewayError> {
    for (param, claim) in bind {
        let raw = params.iter().find(|(k, _)| k == param).map(|(_, v)| v.as_str()).unwrap_or("");
        let value = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        match identity.claim_str(claim) {
            Some(c) if c == value => {}
            _ => return Err(GatewayError::Forbidden("The resource does not belong to the caller.")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(claims: serde_json::Value) -> Identity {
        Identity { claims: claims.as_object().cloned(), ..Identity::default() }
    }

    #[test]
    fn ip_rules() {
        let policy = IpPolicy {
            allow: vec![parse_net("10.0.0.0/8").expect("net")],
            deny: vec![parse_net("10.0.0.5").expect("ip")],
        };
        assert!(policy.check(Some("10.1.2.3".parse().expect("ip"))).is_ok());
        assert!(policy.check(Some("::ffff:10.1.2.3".parse().expect("ip"))).is_ok(), "v4-mapped v6 counts as v4");
        assert!(policy.check(Some("10.0.0.5".parse().expect("ip"))).is_err());
        assert!(policy.check(Some("192.0.2.1".parse().expect("ip"))).is_err());
        assert!(policy.check(None).is_err());
        assert!(parse_net("10.0.0.0/33").is_err() && parse_net("nope").is_err());
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        let need = vec!["users:read".to_owned(), "users:write".to_owned()];
        assert!(check_scopes(&need, &identity(serde_json::json!({"scope": "users:read users:write"}))).is_ok());
        assert!(check_scopes(&need, &identity(serde_json::json!({"scp": ["users:write", "users:read"]}))).is_ok());
        assert!(check_scopes(&need, &identity(serde_json::json!({"scope": "users:read"}))).is_err());
        assert!(check_scopes(&need, &identity(serde_json::json!({"scope": "users:read users:writer"}))).is_err());
        assert!(check_scopes(&[], &Identity::default()).is_ok());
    }

    #[test]
    fn binding_compares_decoded_params_with_claims() {
        let bind = vec![("id".to_owned(), "sub".to_owned())];
        let alice = identity(serde_json::json!({"sub": "alice@x"}));
        assert!(check_binding(&bind, &[("id".into(), "alice%40x".into())], &alice).is_ok());
        assert!(check_binding(&bind, &[("id".into(), "bob".into())], &alice).is_err());
        assert!(check_binding(&bind, &[("id".into(), "alice@x".into())], &Identity::default()).is_err());
    }
}
