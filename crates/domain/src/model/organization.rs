//! Organizations: the tenants. Each owns zones, service accounts and one platform zone that holds
//! its users.

use crate::id::{OrganizationId, ZoneId};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    /// DNS-label form of the name, unique across the server; usable in place of the id in paths.
    pub label: String,
    pub sso_enabled: bool,
    /// The organization's own platform zone.
    pub zone_id: ZoneId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
