//! Consumers: who a credential belongs to. From the config (`consumers`:
//! API-key digests and JWT subjects), and at run time from the key-value port
//! (`apikey:<hex digest>` and `subject:<issuer>:<sub>` → `{"id": "...",
//! "plan": "..."}`, `plan` optional), so that keys can be issued without a
//! redeploy.
//!
//! A subject belongs to the issuer that signed it: `main:acme-service` is
//! the subject `acme-service` of tokens verified by issuer `main` only, so a
//! development issuer's token with the same `sub` is nobody. An unqualified
//! subject (config entry or `subject:<sub>` record) counts only while
//! exactly one JWT issuer is configured.

use crate::platform::{Clock, KeyValueStore, Platform};

#[derive(Debug, Default)]
pub(crate) struct Consumers {
    pub ids: Vec<String>,
    pub keys: Vec<([u8; 32], String)>,
    /// (issuer name, subject, consumer id).
    pub subjects: Vec<(String, String, String)>,
    /// The issuer, when exactly one is configured (unqualified subjects are its).
    pub sole_issuer: Option<String>,
}

pub(crate) fn kv_key_for_digest(digest: &[u8; 32]) -> String {
    format!("apikey:{}", hex::encode(digest))
}

pub(crate) fn kv_key_for_subject(issuer: &str, sub: &str) -> String {
    format!("subject:{issuer}:{sub}")
}

/// A `jwt_subjects` entry read against the configured issuers: `(issuer,
/// subject)`, or why it cannot be placed.
pub(crate) fn qualify<'a>(entry: &'a str, issuers: &[&'a str]) -> Result<(&'a str, &'a str), String> {
    if let Some((issuer, sub)) = entry.split_once(':')
        && issuers.contains(&issuer)
    {
        if sub.is_empty() {
            return Err(format!("jwt_subjects entry `{entry}` has an empty subject"));
        }
        return Ok((issuer, sub));
    }
    match issuers {
        [] => Err(format!("jwt_subjects entry `{entry}`: no JWT issuer is configured under auth.jwt")),
        [only] => Ok((only, entry)),
        _ => Err(format!(
            "jwt_subjects entry `{entry}` must name the issuer that signs it (`ISSUER:SUBJECT`, one of {}): \
             several JWT issuers are configured",
            issuers.join(", ")
        )),
    }
}

/// A consumer found for a credential: its id and, for one issued at run
/// time, the plan its record names (config consumers' plans are looked up by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub id: String,
    pub plan: Option<String>,
}

/// A stored consumer record: `{"id": "acme"}` or `{"id": "acme", "plan": "pro"}`.
pub(crate) fn parse_stored(bytes: &[u8]) -> Option<Found> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("id")?.as_str()?;
    let plan = value.get("plan").and_then(|p| p.as_str()).filter(|p| !p.is_empty()).map(str::to_owned);
    (!id.is_empty()).then(|| Found { id: id.to_owned(), plan })
}

impl Consumers {
    pub(crate) fn by_key_digest(&self, digest: &[u8; 32]) -> Option<String> {
        super::api_key::find(digest, &self.keys).cloned()
    }

    /// The consumer the subject `sub` of a token `issuer` verified belongs
    /// to (config first, then the store).
    pub(crate) async fn by_subject<P: Platform>(&self, platform: &P, issuer: &str, sub: &str) -> Option<Found> {
        if let Some((_, _, id)) = self.subjects.iter().find(|(i, s, _)| i == issuer && s == sub) {
            return Some(Found { id: id.clone(), plan: None });
        }
        let now = platform.clock().now();
        let mut keys = vec![kv_key_for_subject(issuer, sub)];
        if self.sole_issuer.as_deref() == Some(issuer) {
            keys.push(format!("subject:{sub}"));
        }
        for key in keys {
            match platform.kv().get(&key, now).await {
                Ok(Some(bytes)) => return parse_stored(&bytes),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "consumer store unavailable; subject not mapped");
                    return None;
                }
            }
        }
        None
    }
}
