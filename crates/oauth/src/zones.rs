//! The zone cache: each zone's record with its issuer and pre-serialized discovery documents, so
//! the token endpoint and metadata requests never build them per request. A change to the zone
//! (here or on another instance) moves its epoch and hides the entry; a change no notice told
//! of is found by the poll of the database's changes (`change_poll`).

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::id::ZoneId;
use latchkey_domain::model::zone::Zone;
use serde_json::json;

use latchkey_domain::StoreError;
use latchkey_domain::store::Store;

use crate::keys::etag_of;
use crate::paths;
use crate::scoped_cache::{Epochs, Lookup, ScopedCache};

const CACHE_TTL: Duration = crate::change_poll::CACHE_TTL;

/// A zone ready to serve OAuth requests.
pub struct ZoneEntry {
    pub zone: Zone,
    pub issuer: String,
    pub token_endpoint: String,
    /// RFC 8414 metadata, also served as the OpenID provider configuration.
    pub metadata: Arc<str>,
    pub metadata_etag: String,
}

impl ZoneEntry {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Whether `client_id` names a Client ID Metadata Document client here: CIMD on, and the
    /// id a URL (`cimd.rs` resolves it).
    pub fn cimd_client(&self, client_id: &str) -> bool {
        self.zone.cimd.enabled
            && (client_id.starts_with("https://") || client_id.starts_with("http://"))
    }
}

#[derive(Clone)]
pub struct ZoneCache {
    cache: ScopedCache<(), Arc<ZoneEntry>>,
}

impl ZoneCache {
    /// The cache, invalidated through the zone epochs `epochs`.
    pub fn new(epochs: &Arc<Epochs>) -> Self {
        Self {
            cache: ScopedCache::new("zones", epochs.clone(), 100_000, CACHE_TTL),
        }
    }

    /// The zone (None when it does not exist); `issuer` gives its issuer on a cache miss.
    pub async fn get(
        &self,
        store: &dyn Store,
        issuer: impl FnOnce(&str) -> String,
        zone_id: &str,
    ) -> Result<Option<Arc<ZoneEntry>>, StoreError> {
        let key = (ZoneId::new(zone_id), ());
        let ticket = match self.cache.get(&key) {
            Lookup::Hit(e) => return Ok(Some(e)),
            Lookup::Miss(ticket) => ticket,
        };
        let Some(zone) = store.get_zone(&key.0).await? else {
            return Ok(None);
        };
        let entry = Arc::new(build(issuer(zone_id), zone));
        self.cache.insert(key, entry.clone(), ticket);
        Ok(Some(entry))
    }
}

fn build(issuer: String, zone: Zone) -> ZoneEntry {
    let url = |p: &str| format!("{issuer}{p}");
    let metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "jwks_uri": url(paths::JWKS),
        "registration_endpoint": url(paths::REGISTRATION),
        "userinfo_endpoint": url(paths::USERINFO),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        "device_authorization_endpoint": url(paths::DEVICE_AUTHORIZATION),
        "pushed_authorization_request_endpoint": url(paths::PAR),
        "require_pushed_authorization_requests": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "end_session_endpoint": url(paths::LOGOUT),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:device_code"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "prompt_values_supported": crate::supported::PROMPTS,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [zone.signing_alg],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "email", "email_verified", "name"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": crate::supported::DPOP_ALGS,
        "client_id_metadata_document_supported": zone.cimd.enabled,
    });
    let metadata: Arc<str> = metadata.to_string().into();
    ZoneEntry {
        token_endpoint: url(paths::TOKEN),
        metadata_etag: etag_of(metadata.as_bytes()),
        metadata,
        issuer,
        zone,
    }
}
