//! Store traits: the persistence contract the services program against. Zone-scoped methods take
//! the zone id first; organization-scoped ones the organization id first, so a caller cannot
//! forget the tenant. Anything that must be atomic is one method.

mod audit;
mod cluster;
mod device;
mod directory;
mod identity;
mod login;
mod members;
mod organization;
mod policy;

pub use audit::*;
pub use cluster::*;
pub use device::*;
pub use directory::*;
pub use identity::*;
pub use login::*;
pub use members::*;
pub use organization::*;
pub use policy::*;

use async_trait::async_trait;

use crate::error::StoreResult;

/// Everything the server needs from persistence.
#[async_trait]
pub trait Store:
    MetaStore
    + OrganizationStore
    + ServiceAccountStore
    + AccessStore
    + ZoneStore
    + ApplicationStore
    + ResourceStore
    + ProviderStore
    + CredentialStore
    + VaultStore
    + IdentityStore
    + KeyStore
    + LoginStore
    + DeviceStore
    + InvitationStore
    + MemberStore
    + SsoConnectionStore
    + PolicyStore
    + AuditStore
    + ClusterStore
{
    /// Closes connections cleanly (checkpointing SQLite's WAL).
    async fn close(&self);

    /// The schema version the database records, and the newest this build knows; a query that
    /// also tells whether the database answers (readiness).
    async fn schema_version(&self) -> StoreResult<SchemaVersion>;
}

/// A database's schema version against the newest migration this build embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    pub applied: i64,
    pub known: i64,
}

impl SchemaVersion {
    /// Whether every known migration is applied and none unknown is.
    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}
