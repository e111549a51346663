//! Organizations, their service accounts and API keys, invitations, and server-wide settings.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::{ApiKeyId, CredentialId, OrganizationId, ServiceAccountId};
use crate::model::access::{ApiKey, Principal, ServiceAccountToken};
use crate::model::directory::Provider;
use crate::model::organization::{Invitation, Organization};
use crate::model::service_account::{ServiceAccount, ServiceAccountCredential};
use crate::model::sso::SsoConnection;
use crate::model::zone::Zone;
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

/// Server-wide settings kept in the database.
#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets `key` only if it is not set yet; returns the value now stored.
    async fn init_meta(&self, key: &str, value: &str) -> StoreResult<String>;
}

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates the organization and its platform zone together. The label and the zone slug are
    /// made unique from the given values.
    async fn create_organization(
        &self,
        org: Organization,
        platform_zone: Zone,
    ) -> StoreResult<Organization>;
    async fn get_organization(&self, id: &OrganizationId) -> StoreResult<Option<Organization>>;
    async fn find_organization_by_label(&self, label: &str) -> StoreResult<Option<Organization>>;
    /// Lists all organizations, or only `only` when given.
    async fn list_organizations(
        &self,
        only: Option<&OrganizationId>,
        page: &PageRequest,
    ) -> StoreResult<Page<Organization>>;
    async fn update_organization(&self, org: &Organization) -> StoreResult<()>;
}

#[async_trait]
pub trait ServiceAccountStore: Send + Sync {
    async fn create_service_account(&self, sa: &ServiceAccount) -> StoreResult<()>;
    async fn get_service_account(
        &self,
        org: &OrganizationId,
        id: &ServiceAccountId,
    ) -> StoreResult<Option<ServiceAccount>>;
    async fn list_service_accounts(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> StoreResult<Page<ServiceAccount>>;
    async fn update_service_account(&self, sa: &ServiceAccount) -> StoreResult<()>;
    /// Deletes the account with its credentials and every token they issued.
    async fn delete_service_account(
        &self,
        org: &OrganizationId,
        id: &ServiceAccountId,
    ) -> StoreResult<bool>;

    async fn create_credential(&self, cred: &ServiceAccountCredential) -> StoreResult<()>;
    async fn get_credential(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        id: &CredentialId,
    ) -> StoreResult<Option<ServiceAccountCredential>>;
    async fn list_credentials(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        page: &PageRequest,
    ) -> StoreResult<Page<ServiceAccountCredential>>;
    async fn update_credential(&self, cred: &ServiceAccountCredential) -> StoreResult<()>;
    /// Deletes the credential and every token it issued.
    async fn delete_credential(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        id: &CredentialId,
    ) -> StoreResult<bool>;
    async fn find_credential_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ServiceAccountCredential>>;
    /// Records a successful authentication and stores the token it produced.
    async fn record_token_issued(&self, token: &ServiceAccountToken) -> StoreResult<()>;
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    /// Replaces every API key named `name` in `org` by `key` (used for the bootstrap key).
    async fn replace_named_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn count_api_keys(&self) -> StoreResult<u64>;
    /// Resolves a bearer token's keyed hash to its principal (unexpired tokens only).
    async fn find_principal(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Principal>>;
    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKey>>;
}

/// Organization invitations.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    async fn create_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    async fn list_invitations(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Invitation>>;
    async fn get_invitation(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> StoreResult<Option<Invitation>>;
    async fn find_invitation_by_token(&self, token_hash: &str) -> StoreResult<Option<Invitation>>;
    /// Moves a pending invitation to `status` (`accepted` or `revoked`); false if it was not pending.
    async fn set_invitation_status(
        &self,
        org: &OrganizationId,
        id: &str,
        status: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// The newest pending, unexpired invitation of `email` in `org`.
    async fn pending_invitation_for(
        &self,
        org: &OrganizationId,
        email: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Invitation>>;
}

/// Organization SSO connections (one per organization), each kept in step with the platform-zone
/// provider it projects (`SsoConnection::provider`), the zone's `user_identity_provider_id` and
/// `Organization.sso_enabled`: every method changes all of them in one transaction.
#[async_trait]
pub trait SsoConnectionStore: Send + Sync {
    async fn get_sso_connection(&self, org: &OrganizationId) -> StoreResult<Option<SsoConnection>>;
    /// Stores the connection and its `provider`, points the provider's zone's sign-in at it and
    /// sets `sso_enabled`; `Conflict` when the organization already has one.
    async fn enable_sso_connection(
        &self,
        connection: &SsoConnection,
        provider: Provider,
    ) -> StoreResult<()>;
    /// Replaces the connection and its provider's settings.
    async fn update_sso_connection(
        &self,
        connection: &SsoConnection,
        provider: &Provider,
    ) -> StoreResult<()>;
    /// Removes the connection and its provider (the zone's sign-in falls back to its own
    /// accounts; users keep their records) and clears `sso_enabled`; false when there was none.
    async fn disable_sso_connection(&self, org: &OrganizationId) -> StoreResult<bool>;
}
