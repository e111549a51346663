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

/// An invitation to join an organization with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub organization_id: OrganizationId,
    pub id: String,
    pub email: String,
    /// `org_admin`, `org_member` or `org_viewer`.
    pub role: String,
    /// `pending`, `accepted`, `expired` (derived) or `revoked`.
    pub status: String,
    pub token_hash: String,
    pub created_by: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Invitation {
    /// The status as of `now`: a pending invitation past its expiry reads as expired.
    pub fn effective_status(&self, now: Timestamp) -> &str {
        if self.status == "pending" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}
