//! The people of an organization (users of its platform zone with an organization role) and
//! their zone memberships (a zone role per zone, for `org_member`s).

use crate::id::{OrganizationId, UserId, ZoneId};
use crate::model::access::{OrgRole, ZoneRole};
use crate::time::Timestamp;

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUser {
    pub organization_id: OrganizationId,
    /// The user's id in the organization's platform zone.
    pub user_id: UserId,
    pub email: String,
    pub role: OrgRole,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An organization member's role in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneMember {
    pub zone_id: ZoneId,
    pub id: String,
    pub organization_id: OrganizationId,
    pub organization_user_id: UserId,
    pub role: ZoneRole,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The outcome of a change that must leave an organization with an `org_admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    NotFound,
    /// Refused: the member is the organization's last `org_admin`.
    LastAdmin,
}
