//! Shared application state handed to every handler.

use std::sync::Arc;

use latchkey_crypto::{Sealer, SecretHasher};
use latchkey_domain::id::OrganizationId;
use latchkey_domain::store::Store;

use latchkey_oauth::directory_cache::DirectoryCache;
use latchkey_oauth::fetch::Fetcher;
use latchkey_oauth::keys::KeyRing;
use latchkey_oauth::throttle::{RateLimiter, Throttle};

use latchkey_oauth::zones::{ZoneCache, ZoneEntry};

use crate::error::{ApiError, ApiResult};

/// What handlers and services need, shared behind one `Arc` so that handing it to a handler is a
/// single reference-count increment (it holds several caches).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The store, the secret hasher, the caches and derived settings.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub hasher: SecretHasher,
    /// Seals data at rest (vault data, provider secrets, upstream tokens).
    pub sealer: Sealer,
    /// Base of every URL the server advertises, without a trailing slash.
    pub public_url: Arc<str>,
    pub default_org: OrganizationId,
    /// Host mode: zones answer at `{zone_id}.{zone_domain}`.
    pub zone_domain: Option<Arc<str>>,
    pub keys: KeyRing,
    pub zones: ZoneCache,
    pub fetcher: Fetcher,
    pub registrations: RateLimiter,
    /// Sign-in and lookup throttling.
    pub throttle: Throttle,
    /// What the token endpoint reads per request, cached briefly.
    pub directory: DirectoryCache,
}

impl Shared {
    /// The zone with its issuer and discovery documents (cached), or 404.
    pub async fn zone(&self, zone_id: &str) -> ApiResult<Arc<ZoneEntry>> {
        self.zones
            .get(self.store.as_ref(), |z| self.zone_issuer(z), zone_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("zone `{zone_id}`")))
    }

    /// The issuer of a zone: `{public_url}/z/{zone_id}` in path mode, or
    /// `{scheme}://{zone_id}.{zone_domain}[:port]` in host mode.
    pub fn zone_issuer(&self, zone_id: &str) -> String {
        match &self.zone_domain {
            None => format!("{}/z/{zone_id}", self.public_url),
            Some(domain) => match url::Url::parse(&self.public_url) {
                Ok(u) => match u.port() {
                    Some(p) => format!("{}://{zone_id}.{domain}:{p}", u.scheme()),
                    None => format!("{}://{zone_id}.{domain}", u.scheme()),
                },
                Err(_) => format!("https://{zone_id}.{domain}"),
            },
        }
    }
}
