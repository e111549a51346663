//! Shared application state handed to every handler.

use std::sync::Arc;

use latchkey_crypto::{Sealer, SecretHasher};
use latchkey_domain::id::OrganizationId;
use latchkey_domain::store::Store;

/// What handlers and services need: the store, the secret hasher and derived settings.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: SecretHasher,
    /// Seals data at rest (vault data, provider secrets, upstream tokens).
    pub sealer: Sealer,
    /// Base of every URL the server advertises, without a trailing slash.
    pub public_url: Arc<str>,
    pub default_org: OrganizationId,
}

impl AppState {
    /// The issuer of a zone in path mode: `{public_url}/z/{zone_id}`.
    pub fn zone_issuer(&self, zone_id: &str) -> String {
        format!("{}/z/{zone_id}", self.public_url)
    }
}
