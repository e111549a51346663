//! The zone directory: zones, applications and their dependencies, resources, providers,
//! application credentials and the vault.

use async_trait::async_trait;

use crate::model::keys::StoredKey;

use crate::error::StoreResult;
use crate::id::{AppCredentialId, ApplicationId, ProviderId, ResourceId, SecretId};
use crate::id::{OrganizationId, ZoneId};
use crate::model::OwnerType;
use crate::model::directory::{AppCredential, Application, Dependency, Provider, Resource};
use crate::model::vault::{Secret, SecretKind};
use crate::model::zone::Zone;
use crate::page::{ListFilter, Page, PageRequest};

/// Zone filters for `GET /zones`.
#[derive(Debug, Clone, Default)]
pub struct ZoneFilter {
    pub slug: Option<String>,
    /// Only the zones this organization user is a zone member of (`org_member`s see no others).
    pub member: Option<crate::id::UserId>,
}

#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// Inserts the zone, making its slug unique within the organization from `zone.slug`.
    async fn create_zone(&self, zone: Zone) -> StoreResult<Zone>;
    /// Inserts the zone together with its signing keys and, when given, its default MCP gateway
    /// application (which the zone's `default_mcp_gateway_application_id` names), in one
    /// transaction: all or nothing.
    async fn create_zone_with(
        &self,
        zone: Zone,
        keys: &[StoredKey],
        gateway: Option<Application>,
    ) -> StoreResult<(Zone, Option<Application>)>;
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
