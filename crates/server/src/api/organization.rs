//! Organization wire types.

use latchkey_domain::model::organization::Organization;
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Permissions;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// DNS-label form of the name; usable in place of the id in paths.
    pub label: String,
    pub name: String,
    pub sso_enabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The organization's platform zone, which holds its users.
    pub zone_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl OrganizationView {
    pub fn new(o: Organization, permissions: Option<Permissions>) -> Self {
        Self {
            id: o.id.into_string(),
            created_at: o.created_at,
            label: o.label,
            name: o.name,
            sso_enabled: o.sso_enabled,
            updated_at: o.updated_at,
            zone_id: o.zone_id.into_string(),
            permissions,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrganization {
    /// Display name, 1–255 characters. Defaults to "Organization".
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateOrganization {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
}
