//! Wire types of organization members (`/organizations/{id}/users`, a Latchkey extension) and
//! zone members (`/zones/{zone_id}/members`, spec §3.18).

use latchkey_domain::Timestamp;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::member::{OrgUser, ZoneMember};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Permissions;
use super::invitation::OrganizationRole;

/// A member of an organization: a user of its platform zone with an organization role.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUserView {
    /// The user's id in the organization's platform zone (`/zones/{zone_id}/users/{id}`).
    pub id: String,
    pub email: String,
    pub organization_id: String,
    /// The organization's platform zone.
    pub zone_id: String,
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl OrgUserView {
    pub fn new(u: OrgUser, zone_id: &ZoneId, permissions: Option<Permissions>) -> Self {
        Self {
            id: u.user_id.into_string(),
            email: u.email,
            organization_id: u.organization_id.into_string(),
            zone_id: zone_id.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            permissions,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateOrgUser {
    pub role: OrganizationRole,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneRoleName {
    ZoneManager,
    ZoneViewer,
}

impl ZoneRoleName {
    pub fn role(self) -> latchkey_domain::model::access::ZoneRole {
        use latchkey_domain::model::access::ZoneRole;
        match self {
            Self::ZoneManager => ZoneRole::ZoneManager,
            Self::ZoneViewer => ZoneRole::ZoneViewer,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddZoneMember {
    /// The member's id in the organization (`OrgUserView.id`).
    pub organization_user_id: String,
    pub role: ZoneRoleName,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateZoneMember {
    pub role: ZoneRoleName,
}

/// `ZoneMember` (§3.18).
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneMemberView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The organization that owns the zone.
    pub organization_id: String,
    pub organization_user_id: String,
    /// `zone_manager` or `zone_viewer`.
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
}

impl From<ZoneMember> for ZoneMemberView {
    fn from(m: ZoneMember) -> Self {
        Self {
            id: m.id,
            created_at: m.created_at,
            organization_id: m.organization_id.into_string(),
            organization_user_id: m.organization_user_id.into_string(),
            role: m.role.as_str().to_owned(),
            updated_at: m.updated_at,
            zone_id: m.zone_id.into_string(),
        }
    }
}
