//! Shared application state handed to every handler.

use std::sync::Arc;

use latchkey_domain::id::OrganizationId;
use latchkey_oauth::services::Services;
use latchkey_oauth::zones::ZoneEntry;

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

/// The zone services (`latchkey_oauth::Services`: store, hasher, sealer, key ring, caches,
/// fetcher, throttles — reached through `Deref`) and the server's own settings.
pub struct Shared {
    pub services: Services,
    /// Base of every URL the server advertises, without a trailing slash.
    pub public_url: Arc<str>,
    pub default_org: OrganizationId,
    /// Host mode: zones answer at `{zone_id}.{zone_domain}`.
    pub zone_domain: Option<Arc<str>>,
    /// Sends invitation email, when SMTP is configured.
    pub mailer: Option<Arc<crate::service::mail::Mailer>>,
}

impl std::ops::Deref for Shared {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
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

impl latchkey_oauth::change_feed::AsServices for AppState {
    fn services(&self) -> &Services {
        &self.services
    }
}
