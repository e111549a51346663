//! What the zone authorization servers need at run time, built once at start-up: the store, the
//! secret hasher and sealer, the key ring, the caches, the outbound fetcher and the throttles.

use std::sync::Arc;

use latchkey_crypto::{Sealer, SecretHasher};
use latchkey_domain::id::ZoneId;
use latchkey_domain::store::Store;

use crate::audit_log::AuditLog;
use crate::change_poll::ChangePoll;
use crate::changes::{Changes, Kind};
use crate::decision_log::DecisionLog;
use crate::device_codes::DeviceSettings;
use crate::directory_cache::DirectoryCache;
use crate::fetch::Fetcher;
use crate::keys::KeyRing;
use crate::policy_cache::PolicyCache;
use crate::throttle::{RateLimiter, Throttle};
use crate::zones::ZoneCache;

pub struct Services {
    pub store: Arc<dyn Store>,
    pub hasher: SecretHasher,
    /// Seals data at rest (vault data, provider secrets, upstream tokens).
    pub sealer: Sealer,
    pub keys: KeyRing,
    pub zones: ZoneCache,
    pub fetcher: Fetcher,
    /// Dynamic client registrations per source address.
    pub registrations: RateLimiter,
    /// Sign-in and lookup throttling.
    pub throttle: Throttle,
    /// What the token endpoint reads per request, cached briefly.
    pub directory: DirectoryCache,
    /// Parsed schemas and compiled policy sets per zone.
    pub policies: Arc<PolicyCache>,
    /// Where issuance decisions go (written in the background once started).
    pub decisions: std::sync::Arc<DecisionLog>,
    /// Where audit events go (written in the background once started).
    pub audit: Arc<AuditLog>,
    /// Device code lifetime and polling interval (RFC 8628).
    pub device: DeviceSettings,
    /// Cache epochs and the change notices between instances.
    pub changes: Arc<Changes>,
    /// The caches' backstop: the zones changed in the database, read once a second.
    pub change_poll: Arc<ChangePoll>,
}

impl Services {
    /// The services over `store`, with keys sealed by `sealer`; outbound fetches reach private
    /// addresses only when `allow_private_fetch`.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: SecretHasher,
        sealer: Sealer,
        allow_private_fetch: bool,
    ) -> Self {
        let changes = Arc::new(Changes::default());
        let epochs = changes.epochs();
        Self {
            keys: KeyRing::new(store.clone(), sealer.clone(), changes.clone()),
            throttle: Throttle::new(store.clone()),
            store,
            hasher,
            sealer,
            zones: ZoneCache::new(&epochs),
            fetcher: Fetcher::new(allow_private_fetch),
            registrations: RateLimiter::default(),
            directory: DirectoryCache::new(&epochs),
            changes,
            change_poll: Arc::default(),
            policies: Arc::default(),
            decisions: std::sync::Arc::default(),
            audit: Arc::default(),
            device: DeviceSettings::default(),
        }
    }
}

impl Services {
    /// A write changed what `zone` serves (directory, settings, keys): every instance's caches
    /// of the zone go stale at once.
    pub fn zone_changed(&self, zone: &ZoneId) {
        self.changes.zone_changed(zone);
    }

    /// A policy binding of `zone` moved: the compiled policy is dropped here and on every
    /// other instance.
    pub fn policy_changed(&self, zone: &ZoneId) {
        self.policy_moved(zone);
        self.changes.publish(Kind::Policy, zone);
    }

    /// A policy binding of `zone` moved (here, or as another instance's notice says): the
    /// compiled policy is dropped, then the zone's epoch moves, which hides what was decided
    /// with it (issuance plans).
    pub fn policy_moved(&self, zone: &ZoneId) {
        self.policies.forget(zone);
        self.changes.bump(zone);
    }
}
