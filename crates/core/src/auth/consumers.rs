//! Consumers: who a credential belongs to. From the config (`consumers`:
//! API-key digests and JWT subjects), and at run time from the key-value port
//! (`apikey:<hex digest>` and `subject:<sub>` → `{"id": "...", "plan": "..."}`,
//! `plan` optional), so that keys can be issued without a redeploy.

use crate::platform::{Clock, KeyValueStore, Platform};

#[derive(Debug, Default)]
pub(crate) struct Consumers {
    pub ids: Vec<String>,
    pub keys: Vec<([u8; 32], String)>,
    pub subjects: Vec<(String, String)>,
}

pub(crate) fn kv_key_for_digest(digest: &[u8; 32]) -> String {
    let mut key = String::with_capacity(71);
    key.push_str("apikey:");
    for b in digest {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

pub(crate) fn kv_key_for_subject(sub: &str) -> String {
    format!("subject:{sub}")
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

    /// The consumer a JWT subject belongs to (config first, then the store).
    pub(crate) async fn by_subject<P: Platform>(&self, platform: &P, sub: &str) -> Option<Found> {
        if let Some((_, id)) = self.subjects.iter().find(|(s, _)| s == sub) {
            return Some(Found { id: id.clone(), plan: None });
        }
        match platform.kv().get(&kv_key_for_subject(sub), platform.clock().now()).await {
            Ok(Some(bytes)) => parse_stored(&bytes),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "consumer store unavailable; subject not mapped");
                None
            }
        }
    }
}
