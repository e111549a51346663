//! Service accounts and their client credentials: organization-scoped machine principals that
//! authenticate at `/service-account-token` with a `client_id`/`client_secret` pair.

use crate::id::{CredentialId, OrganizationId, ServiceAccountId};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub id: ServiceAccountId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A credential as stored: the secret only as its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountCredential {
    pub id: CredentialId,
    pub organization_id: OrganizationId,
    pub service_account_id: ServiceAccountId,
    pub name: String,
    pub description: Option<String>,
    pub client_id: String,
    pub secret_hash: String,
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
