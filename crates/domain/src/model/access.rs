//! Management-API access: API keys and service-account access tokens, stored only as keyed
//! hashes, the organization and zone roles of people, and the principal a bearer token resolves
//! to.

use crate::id::{ApiKeyId, CredentialId, OrganizationId, ServiceAccountId, UserId};
use crate::time::Timestamp;

/// An API key. `platform_admin` keys may create organizations and manage all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub key_hash: String,
    pub platform_admin: bool,
    pub created_at: Timestamp,
}

/// An access token issued at `/service-account-token`; dies with its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountToken {
    pub token_hash: String,
    pub organization_id: OrganizationId,
    pub service_account_id: ServiceAccountId,
    pub credential_id: CredentialId,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

/// The caller of a management request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    ApiKey {
        id: ApiKeyId,
        organization_id: OrganizationId,
        platform_admin: bool,
    },
    ServiceAccount {
        organization_id: OrganizationId,
        service_account_id: ServiceAccountId,
    },
    /// A person signed in at their organization's platform zone (a user of that zone). `role` is
    /// `None` until they are a member (e.g. before accepting their invitation).
    User {
        organization_id: OrganizationId,
        user_id: UserId,
        email: String,
        role: Option<OrgRole>,
    },
}

impl Principal {
    /// The organization the principal belongs to.
    pub fn organization_id(&self) -> &OrganizationId {
        match self {
            Self::ApiKey {
                organization_id, ..
            }
            | Self::ServiceAccount {
                organization_id, ..
            }
            | Self::User {
                organization_id, ..
            } => organization_id,
        }
    }

    /// The raw id recorded as `created_by` / `updated_by` / `archived_by` and as the audit actor.
    pub fn actor_id(&self) -> &str {
        match self {
            Self::ApiKey { id, .. } => id.as_str(),
            Self::ServiceAccount {
                service_account_id, ..
            } => service_account_id.as_str(),
            Self::User { user_id, .. } => user_id.as_str(),
        }
    }

    /// `api_key`, `service_account` or `user`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ApiKey { .. } => "api_key",
            Self::ServiceAccount { .. } => "service_account",
            Self::User { .. } => "user",
        }
    }

    /// Platform admins act in every organization.
    pub fn is_platform_admin(&self) -> bool {
        matches!(
            self,
            Self::ApiKey {
                platform_admin: true,
                ..
            }
        )
    }

    /// Whether the principal may act on objects of `org`.
    pub fn can_access(&self, org: &OrganizationId) -> bool {
        self.is_platform_admin() || self.organization_id() == org
    }
}

/// A person's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    /// Read-only everywhere in the organization.
    OrgViewer,
    /// The zones they are members of, with their zone role there.
    OrgMember,
    /// Everything in the organization.
    OrgAdmin,
}

impl OrgRole {
    pub const ALL: [Self; 3] = [Self::OrgAdmin, Self::OrgMember, Self::OrgViewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgAdmin => "org_admin",
            Self::OrgMember => "org_member",
            Self::OrgViewer => "org_viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person's role in one zone (for `org_member`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneRole {
    /// Read-only within the zone.
    ZoneViewer,
    /// Full management within the zone.
    ZoneManager,
}

impl ZoneRole {
    pub const ALL: [Self; 2] = [Self::ZoneManager, Self::ZoneViewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZoneManager => "zone_manager",
            Self::ZoneViewer => "zone_viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}
