//! A short-lived cache of what the token endpoint reads from the zone directory on every request:
//! credentials by client id (with their application), resources by requested identifier (with
//! their provider type) and dependency links. Any management write to a zone drops that zone's
//! entries at once (see `routes::app`); the TTL bounds staleness across instances.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::id::{ApplicationId, ResourceId, ZoneId};
use latchkey_domain::model::directory::{AppCredential, Application, ProviderType, Resource};
use latchkey_domain::model::identity::User;

const TTL: Duration = Duration::from_secs(5);

/// A resolved resource: the record, the audience to mint, and who issues its credentials.
pub struct Target {
    pub resource: Resource,
    pub aud: String,
    pub kind: ProviderType,
}

type Key<T> = (ZoneId, T);
/// The `when_accessing` conditions of a dependency (`None`: no dependency).
pub type Conditions = Option<Arc<Vec<ResourceId>>>;

#[derive(Clone)]
pub struct DirectoryCache {
    pub clients: moka::sync::Cache<Key<String>, Option<Arc<(AppCredential, Application)>>>,
    pub targets: moka::sync::Cache<Key<String>, Arc<Target>>,
    pub deps: moka::sync::Cache<Key<(ApplicationId, ResourceId)>, Conditions>,
    /// The resource ids each application depends on (its Cedar `dependencies`).
    pub app_deps: moka::sync::Cache<Key<ApplicationId>, Arc<Vec<String>>>,
    /// Users by identifier (the `sub` of zone tokens), for policy evaluation.
    pub users: moka::sync::Cache<Key<String>, Option<Arc<User>>>,
}

fn cache<K, V>() -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(TTL)
        .support_invalidation_closures()
        .build()
}

impl Default for DirectoryCache {
    fn default() -> Self {
        Self {
            clients: cache(),
            targets: cache(),
            deps: cache(),
            app_deps: cache(),
            users: cache(),
        }
    }
}

impl DirectoryCache {
    /// Drops everything cached for `zone`.
    pub fn invalidate_zone(&self, zone: &str) {
        let z = zone.to_owned();
        let _ = self.clients.invalidate_entries_if({
            let z = z.clone();
            move |k, _| k.0.as_str() == z
        });
        let _ = self.targets.invalidate_entries_if({
            let z = z.clone();
            move |k, _| k.0.as_str() == z
        });
        let _ = self.deps.invalidate_entries_if({
            let z = z.clone();
            move |k, _| k.0.as_str() == z
        });
        let _ = self.app_deps.invalidate_entries_if({
            let z = z.clone();
            move |k, _| k.0.as_str() == z
        });
        let _ = self
            .users
            .invalidate_entries_if(move |k, _| k.0.as_str() == z);
    }
}
