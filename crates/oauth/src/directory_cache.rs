//! A cache of what the token endpoint reads from the zone directory on every request:
//! credentials by client id (with their application), resources by requested identifier (with
//! their provider type), dependency links and worked-out `client_credentials` answers. Any
//! management write to a zone moves the zone's epoch (here and, through `changes`, on every
//! instance), which hides its entries at once; a write no notice told of is found by the
//! once-a-second poll of the database's changes (`change_poll`), and the TTL bounds memory.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::id::{ApplicationId, ResourceId};
use latchkey_domain::model::directory::{AppCredential, Application, ProviderType, Resource};
use latchkey_domain::model::identity::User;

use crate::plan_cache::PlanCache;
use crate::scoped_cache::{Epochs, ScopedCache};

/// Entries live this long at most (`change_poll` keeps them fresh, not the TTL). Not shorter:
/// every entry of every active zone is reread once per TTL, which with a thousand busy zones
/// was most of the database's work.
const TTL: Duration = crate::change_poll::CACHE_TTL;
/// Users: a sign-in writes its user without a notice and users are not in the polled changes,
/// so their short TTL stays the backstop.
const USERS_TTL: Duration = Duration::from_secs(30);
const CAPACITY: u64 = 100_000;

/// A resolved resource: the record, the audience to mint, and who issues its credentials.
pub struct Target {
    pub resource: Resource,
    pub aud: String,
    pub kind: ProviderType,
}

/// The `when_accessing` conditions of a dependency (`None`: no dependency).
pub type Conditions = Option<Arc<Vec<ResourceId>>>;

pub struct DirectoryCache {
    pub clients: ScopedCache<String, Option<Arc<(AppCredential, Application)>>>,
    pub targets: ScopedCache<String, Arc<Target>>,
    pub deps: ScopedCache<(ApplicationId, ResourceId), Conditions>,
    /// The resource ids each application depends on (its Cedar `dependencies`).
    pub app_deps: ScopedCache<ApplicationId, Arc<Vec<String>>>,
    /// Users by identifier (the `sub` of zone tokens), for policy evaluation.
    pub users: ScopedCache<String, Option<Arc<User>>>,
    /// Worked-out `client_credentials` answers (`plans`).
    pub plans: PlanCache,
}

impl DirectoryCache {
    /// The caches, invalidated through the zone epochs `epochs`.
    pub fn new(epochs: &Arc<Epochs>) -> Self {
        let e = || epochs.clone();
        Self {
            clients: ScopedCache::new("clients", e(), CAPACITY, TTL),
            targets: ScopedCache::new("targets", e(), CAPACITY, TTL),
            deps: ScopedCache::new("dependencies", e(), CAPACITY, TTL),
            app_deps: ScopedCache::new("application_dependencies", e(), CAPACITY, TTL),
            users: ScopedCache::new("users", e(), CAPACITY, USERS_TTL),
            plans: PlanCache::new(e(), CAPACITY, TTL),
        }
    }
}
