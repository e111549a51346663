//! Store traits: the persistence contract the services program against. Zone-scoped methods take
//! the zone id first; organization-scoped ones the organization id first, so a caller cannot
//! forget the tenant. Anything that must be atomic is one method.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::{ApiKeyId, CredentialId, OrganizationId, ServiceAccountId, ZoneId};
use crate::id::{
    AppCredentialId, ApplicationId, GrantId, ProviderId, ResourceId, SecretId, SessionId,
    UserAgentId, UserId,
};
use crate::model::OwnerType;
use crate::model::access::{ApiKey, Principal, ServiceAccountToken};
use crate::model::directory::{AppCredential, Application, Dependency, Provider, Resource};
use crate::model::identity::{Grant, Session, SessionType, Status, User, UserAgent};
use crate::model::keys::StoredKey;
use crate::model::login::{CodeUse, ConsentRecord, GrantData, RefreshRecord, RefreshUse};
use crate::model::organization::{Invitation, Organization};
use crate::model::service_account::{ServiceAccount, ServiceAccountCredential};
use crate::model::vault::{Secret, SecretKind};
use crate::model::zone::Zone;
use crate::page::{ListFilter, Page, PageRequest};
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

/// Zone filters for `GET /zones`.
#[derive(Debug, Clone, Default)]
pub struct ZoneFilter {
    pub slug: Option<String>,
}

#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// Inserts the zone, making its slug unique within the organization from `zone.slug`.
    async fn create_zone(&self, zone: Zone) -> StoreResult<Zone>;
    /// Inserts the zone together with its default MCP gateway application (which the zone's
    /// `default_mcp_gateway_application_id` names), in one transaction: both or neither.
    async fn create_zone_with_gateway(
        &self,
        zone: Zone,
        gateway: Application,
    ) -> StoreResult<(Zone, Application)>;
    async fn get_zone(&self, id: &ZoneId) -> StoreResult<Option<Zone>>;
    async fn list_zones(
        &self,
        org: &OrganizationId,
        filter: &ZoneFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Zone>>;
    async fn update_zone(&self, zone: &Zone) -> StoreResult<()>;
    /// Deletes the zone and everything it owns.
    async fn delete_zone(&self, id: &ZoneId) -> StoreResult<bool>;
}

/// Applications and their dependencies.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Inserts the application (slug made unique in the zone) with its initial dependencies.
    async fn create_application(
        &self,
        app: Application,
        dependencies: &[ResourceId],
    ) -> StoreResult<Application>;
    async fn get_application(
        &self,
        zone: &ZoneId,
        id: &ApplicationId,
    ) -> StoreResult<Option<Application>>;
    async fn list_applications(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Application>>;
    async fn update_application(&self, app: &Application) -> StoreResult<()>;
    /// Deletes the application with its credentials, dependencies and application sessions;
    /// resources it provided and user sessions it initiated keep existing without the link.
    async fn delete_application(&self, zone: &ZoneId, id: &ApplicationId) -> StoreResult<bool>;

    /// Adds or replaces the dependency `app → resource` and its `when_accessing` conditions.
    async fn put_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
        when_accessing: &[ResourceId],
    ) -> StoreResult<()>;
    async fn get_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Dependency>>;
    async fn list_dependencies(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        when_accessing: Option<&ResourceId>,
        page: &PageRequest,
    ) -> StoreResult<Page<Dependency>>;
    async fn delete_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> StoreResult<bool>;
    /// Whether `app` depends on `resource`, and under which `when_accessing` conditions (one
    /// indexed lookup, for the token endpoint): `None` without a dependency, an empty list for
    /// an unconditional one.
    async fn dependency_conditions(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> StoreResult<Option<Vec<ResourceId>>>;
}

/// Filters of the resources list beyond the shared ones.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub list: ListFilter,
    pub application_id: Option<ApplicationId>,
    pub credential_provider_id: Option<ProviderId>,
    pub owner_type: Option<OwnerType>,
    /// OR of AND-groups of application traits.
    pub traits: Vec<Vec<String>>,
    /// Only prefix (or only exact) resources.
    pub prefix: Option<bool>,
}

#[async_trait]
pub trait ResourceStore: Send + Sync {
    async fn create_resource(&self, resource: Resource) -> StoreResult<Resource>;
    async fn get_resource(&self, zone: &ZoneId, id: &ResourceId) -> StoreResult<Option<Resource>>;
    async fn list_resources(
        &self,
        zone: &ZoneId,
        filter: &ResourceFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Resource>>;
    async fn update_resource(&self, resource: &Resource) -> StoreResult<()>;
    /// Deletes the resource with its dependency links, conditions and grants, and clears the
    /// zone's `default_resource_id` if it pointed here.
    async fn delete_resource(&self, zone: &ZoneId, id: &ResourceId) -> StoreResult<bool>;
}

#[async_trait]
pub trait ProviderStore: Send + Sync {
    async fn create_provider(&self, provider: Provider) -> StoreResult<Provider>;
    async fn get_provider(&self, zone: &ZoneId, id: &ProviderId) -> StoreResult<Option<Provider>>;
    async fn list_providers(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Provider>>;
    async fn update_provider(&self, provider: &Provider) -> StoreResult<()>;
    /// Deletes the provider. Refused with `Conflict` (naming them) while credentials or
    /// resources use it; users and sessions lose the link, its grants go with it.
    async fn delete_provider(&self, zone: &ZoneId, id: &ProviderId) -> StoreResult<bool>;
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Inserts the credential (slug made unique in the zone; client ids unique in the zone).
    async fn create_app_credential(&self, cred: AppCredential) -> StoreResult<AppCredential>;
    async fn get_app_credential(
        &self,
        zone: &ZoneId,
        id: &AppCredentialId,
    ) -> StoreResult<Option<AppCredential>>;
    async fn list_app_credentials(
        &self,
        zone: &ZoneId,
        application: Option<&ApplicationId>,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AppCredential>>;
    async fn update_app_credential(&self, cred: &AppCredential) -> StoreResult<()>;
    async fn delete_app_credential(&self, zone: &ZoneId, id: &AppCredentialId)
    -> StoreResult<bool>;
    /// The credential whose OAuth client id is `client_id`.
    async fn find_app_credential_by_client_id(
        &self,
        zone: &ZoneId,
        client_id: &str,
    ) -> StoreResult<Option<AppCredential>>;
}

/// Filters of `GET /zones/{zone_id}/secrets`.
#[derive(Debug, Clone, Default)]
pub struct SecretFilter {
    pub entity_id: Option<String>,
    pub owner_type: Option<OwnerType>,
    pub kind: Option<SecretKind>,
}

#[async_trait]
pub trait VaultStore: Send + Sync {
    async fn create_secret(&self, secret: &Secret) -> StoreResult<()>;
    async fn get_secret(&self, zone: &ZoneId, id: &SecretId) -> StoreResult<Option<Secret>>;
    /// Every matching secret, oldest first (the vault list is not paginated).
    async fn list_secrets(&self, zone: &ZoneId, filter: &SecretFilter) -> StoreResult<Vec<Secret>>;
    async fn update_secret(&self, secret: &Secret) -> StoreResult<()>;
    async fn delete_secret(&self, zone: &ZoneId, id: &SecretId) -> StoreResult<bool>;
}

/// Filters of the users list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub list: ListFilter,
    pub external: Option<bool>,
}

/// Filters of the sessions list.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub include_nested: bool,
    pub session_type: Option<SessionType>,
    pub status: Option<Status>,
    pub user_id: Option<UserId>,
}

/// Filters of the delegated-grants list.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub status: Option<Status>,
    pub user_id: Option<UserId>,
    pub resource_id: Option<ResourceId>,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, zone: &ZoneId, id: &UserId) -> StoreResult<Option<User>>;
    async fn list_users(
        &self,
        zone: &ZoneId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<User>>;
    /// Number of sessions and of grants of a user, for the `session_count`/`grant_count` expansions.
    async fn user_counts(&self, zone: &ZoneId, id: &UserId) -> StoreResult<(u64, u64)>;

    async fn insert_user_agent(&self, agent: UserAgent) -> StoreResult<UserAgent>;
    async fn get_user_agent(
        &self,
        zone: &ZoneId,
        id: &UserAgentId,
    ) -> StoreResult<Option<UserAgent>>;
    /// The user agent whose OAuth client id is `identifier` (`ua:…`).
    async fn find_user_agent(
        &self,
        zone: &ZoneId,
        identifier: &str,
    ) -> StoreResult<Option<UserAgent>>;
    async fn list_user_agents(
        &self,
        zone: &ZoneId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserAgent>>;
    /// Deletes a registered client with its sessions and consents; nothing issued to it can be
    /// refreshed afterwards.
    async fn delete_user_agent(&self, zone: &ZoneId, id: &UserAgentId) -> StoreResult<bool>;

    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    async fn get_session(&self, zone: &ZoneId, id: &SessionId) -> StoreResult<Option<Session>>;
    async fn list_sessions(
        &self,
        zone: &ZoneId,
        filter: &SessionFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> StoreResult<Page<Session>>;
    /// Revokes the session and every session below it.
    async fn revoke_session(
        &self,
        zone: &ZoneId,
        id: &SessionId,
        now: Timestamp,
    ) -> StoreResult<bool>;
    async fn delete_session(&self, zone: &ZoneId, id: &SessionId) -> StoreResult<bool>;

    async fn insert_grant(&self, grant: &Grant) -> StoreResult<()>;
    async fn get_grant(&self, zone: &ZoneId, id: &GrantId) -> StoreResult<Option<Grant>>;
    async fn list_grants(
        &self,
        zone: &ZoneId,
        filter: &GrantFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> StoreResult<Page<Grant>>;
    async fn revoke_grant(&self, zone: &ZoneId, id: &GrantId, now: Timestamp) -> StoreResult<bool>;
    async fn delete_grant(&self, zone: &ZoneId, id: &GrantId) -> StoreResult<bool>;
}

/// Zone signing keys and the client-assertion replay cache.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The zone's published keys (next, current, and previous ones not yet retired at `now`).
    async fn list_keys(&self, zone: &ZoneId, now: Timestamp) -> StoreResult<Vec<StoredKey>>;
    /// Installs the first keys of a zone if it has none; returns whether they were inserted.
    async fn init_keys(
        &self,
        zone: &ZoneId,
        current: &StoredKey,
        next: &StoredKey,
    ) -> StoreResult<bool>;
    /// Rotates atomically: drops retired keys, current → previous (until `retire_at`),
    /// next → current, and inserts `new_next`.
    async fn rotate_keys(
        &self,
        zone: &ZoneId,
        new_next: &StoredKey,
        retire_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Replaces the zone's `next` key (e.g. after its signing algorithm changed).
    async fn replace_next_key(&self, zone: &ZoneId, next: &StoredKey) -> StoreResult<()>;
    /// Zones whose current key was activated before `before`.
    async fn zones_due_for_rotation(&self, before: Timestamp) -> StoreResult<Vec<ZoneId>>;
    /// Records an assertion `jti`; false if it was already seen (a replay).
    async fn remember_jti(
        &self,
        zone: &ZoneId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// The browser flows: pending authorization requests, codes, refresh tokens, web sessions,
/// consents and upstream redirect state.
#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn put_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        params: &str,
        csrf: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// `(params, csrf)` of an unexpired request.
    async fn get_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, String)>>;
    async fn delete_auth_request(&self, zone: &ZoneId, id: &str) -> StoreResult<()>;

    async fn put_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        grant: &GrantData,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Spends a code atomically.
    async fn use_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<CodeUse>;

    async fn insert_refresh(&self, zone: &ZoneId, record: &RefreshRecord) -> StoreResult<()>;
    /// Rotates `old_hash` out in favour of `next_hash` (same family and grant, expiring at
    /// `expires_at`) in one transaction; a token that was already rotated or revoked revokes its
    /// whole family instead.
    async fn rotate_refresh(
        &self,
        zone: &ZoneId,
        old_hash: &str,
        next_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshUse>;
    /// The grant behind an unspent, unexpired refresh token, without spending it.
    async fn peek_refresh(&self, zone: &ZoneId, token_hash: &str)
    -> StoreResult<Option<GrantData>>;
    /// Moves a session's expiry to `expires_at` (a refresh keeps its token session alive).
    async fn extend_session(
        &self,
        zone: &ZoneId,
        id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Deletes expired pending requests, codes, upstream states and refresh tokens; how many.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
    /// Revokes every refresh token of a family.
    async fn revoke_refresh_family(&self, zone: &ZoneId, family_id: &str) -> StoreResult<()>;
    /// Revokes the refresh token with this hash issued to `client_id` (and its family); false
    /// when there is no such token.
    async fn revoke_refresh(
        &self,
        zone: &ZoneId,
        token_hash: &str,
        client_id: &str,
    ) -> StoreResult<bool>;
    /// Revokes every refresh token issued from a session (after a code replay or logout).
    async fn revoke_refresh_for_session(&self, zone: &ZoneId, session_id: &str) -> StoreResult<()>;

    /// Inserts a browser session whose cookie has keyed hash `secret_hash`.
    async fn insert_web_session(&self, session: &Session, secret_hash: &str) -> StoreResult<()>;
    /// The active web session whose cookie hashes to `secret_hash`.
    async fn find_web_session(
        &self,
        zone: &ZoneId,
        secret_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>>;

    async fn get_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>>;
    /// Replaces what `user` consented to for `client_id`.
    async fn put_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
        consent: &ConsentRecord,
    ) -> StoreResult<()>;

    async fn put_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        sealed: &[u8],
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Takes (reads and deletes) an unexpired upstream state.
    async fn take_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Vec<u8>>>;

    /// Records a user's sign-in time.
    async fn touch_user(&self, zone: &ZoneId, user: &UserId, at: Timestamp) -> StoreResult<()>;
    /// Replaces a grant's upstream tokens and expiry (after a refresh or a new authorization).
    async fn update_grant_tokens(&self, grant: &Grant) -> StoreResult<()>;
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

/// Everything the server needs from persistence.
#[async_trait]
pub trait Store:
    MetaStore
    + OrganizationStore
    + ServiceAccountStore
    + AccessStore
    + ZoneStore
    + ApplicationStore
    + ResourceStore
    + ProviderStore
    + CredentialStore
    + VaultStore
    + IdentityStore
    + KeyStore
    + LoginStore
    + InvitationStore
{
    /// Closes connections cleanly (checkpointing SQLite's WAL).
    async fn close(&self);
}
