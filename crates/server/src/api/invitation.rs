//! Invitation wire types (spec §3.1.5–3.1.7, §3.2, §4.2).

use latchkey_domain::Timestamp;
use latchkey_domain::model::organization::Invitation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationRole {
    OrgAdmin,
    OrgMember,
    OrgViewer,
}

impl OrganizationRole {
    pub fn role(self) -> latchkey_domain::model::access::OrgRole {
        use latchkey_domain::model::access::OrgRole;
        match self {
            Self::OrgAdmin => OrgRole::OrgAdmin,
            Self::OrgMember => OrgRole::OrgMember,
            Self::OrgViewer => OrgRole::OrgViewer,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.role().as_str()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateInvitation {
    pub email: String,
    pub role: OrganizationRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    pub email: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub organization_id: String,
    pub role: String,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Latchkey extension, only in the create response: the token to hand to the invitee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl InvitationView {
    pub fn new(i: Invitation, now: Timestamp) -> Self {
        Self {
            status: i.effective_status(now).to_owned(),
            id: i.id,
            created_at: i.created_at,
            created_by: i.created_by,
            email: i.email,
            expires_at: i.expires_at,
            organization_id: i.organization_id.into_string(),
            role: i.role,
            updated_at: i.updated_at,
            token: None,
        }
    }
}

/// The public view by token.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPublic {
    pub created_by_name: String,
    pub email: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub organization_name: String,
    pub role: String,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    pub organization_id: String,
    pub organization_name: String,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}
