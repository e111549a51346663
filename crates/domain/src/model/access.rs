//! Management-API access: API keys and service-account access tokens, stored only as keyed
//! hashes, and the principal a bearer token resolves to.

use crate::id::{ApiKeyId, CredentialId, OrganizationId, ServiceAccountId};
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
            } => organization_id,
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
