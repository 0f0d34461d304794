//! Consumers: who a credential belongs to. From the config (`consumers`:
//! API-key digests and JWT subjects), and at run time from the key-value port
//! (`apikey:<hex digest>` and `subject:<sub>` → `{"id": "..."}`), so that keys
//! can be issued without a redeploy.

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

/// A stored consumer record: `{"id": "acme"}`.
pub(crate) fn parse_stored(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("id")?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

impl Consumers {
    pub(crate) fn by_key_digest(&self, digest: &[u8; 32]) -> Option<String> {
        super::api_key::find(digest, &self.keys).cloned()
    }

    /// The consumer a JWT subject belongs to (config first, then the store).
    pub(crate) async fn by_subject<P: Platform>(&self, platform: &P, sub: &str) -> Option<String> {
        if let Some((_, id)) = self.subjects.iter().find(|(s, _)| s == sub) {
            return Some(id.clone());
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
