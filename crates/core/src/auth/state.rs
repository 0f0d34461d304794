//! What authentication remembers between requests in one process /
//! isolate: the failed-authentication limit's blocks and known-good
//! credentials, and each JWKS issuer's cached key set.

use super::Auth;
use super::failures::FailureState;
use super::jwt::JwksCache;

/// Authentication's run-time state for one compiled [`Auth`].
#[derive(Default)]
pub(crate) struct AuthState {
    pub(crate) failures: FailureState,
    /// One cache per JWT scheme, in `Auth::jwt` order (unused for static keys).
    jwks: Vec<JwksCache>,
}

impl AuthState {
    /// Fresh state for `auth`.
    pub(crate) fn new(auth: &Auth) -> Self {
        AuthState { failures: FailureState::default(), jwks: auth.jwt.iter().map(|_| JwksCache::default()).collect() }
    }

    /// The key-set cache of JWT scheme `scheme`.
    pub(crate) fn jwks(&self, scheme: usize) -> Option<&JwksCache> {
        self.jwks.get(scheme)
    }
}
