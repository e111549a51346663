//! Wire types of the zone directory: applications, dependencies, resources, providers and
//! application credentials (spec §3.5–3.10, §4.4–4.8).
mod credentials;
mod providers;

pub use credentials::*;
pub use providers::*;

use latchkey_domain::model::directory::{
    Application, ApplicationType, Consent, Dependency, Metadata, Resource,
};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ----- applications ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct AppOAuth2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct AppProtocols {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<AppOAuth2>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DependencyRef {
    /// A resource id of the zone.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApplication {
    pub identifier: String,
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub consent: Option<Consent>,
    pub dependencies: Option<Vec<DependencyRef>>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    pub protocols: Option<AppProtocols>,
    /// Latchkey extension: `gateway`, `mcp-provider`, `unified-gateway`, `mcp-server`.
    pub traits: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AppOAuth2Patch {
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub redirect_uris: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub post_logout_redirect_uris: Patch<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AppProtocolsPatch {
    #[serde(default)]
    #[schema(value_type = Option<AppOAuth2Patch>)]
    pub oauth2: Patch<AppOAuth2Patch>,
}

/// Metadata PATCH: `null` or `{}` wipes it; a sub-field set to `null` unsets that field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MetadataPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub docs_url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub icon_url: Patch<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateApplication {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub consent: Patch<Consent>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub identifier: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<MetadataPatch>)]
    pub metadata: Patch<MetadataPatch>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<AppProtocolsPatch>)]
    pub protocols: Patch<AppProtocolsPatch>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub traits: Patch<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: String,
    #[schema(value_type = String)]
    pub consent: Consent,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub dependencies_count: u32,
    pub identifier: String,
    pub name: String,
    pub organization_id: String,
    pub owner_type: &'static str,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    pub protocols: Option<AppProtocols>,
    pub traits: Vec<String>,
}

impl From<Application> for ApplicationView {
    fn from(a: Application) -> Self {
        let protocols = if a.redirect_uris.is_some() || a.post_logout_redirect_uris.is_some() {
            Some(AppProtocols {
                oauth2: Some(AppOAuth2 {
                    redirect_uris: a.redirect_uris,
                    post_logout_redirect_uris: a.post_logout_redirect_uris,
                }),
            })
        } else {
            None
        };
        Self {
            id: a.id.into_string(),
            consent: a.consent,
            created_at: a.created_at,
            dependencies_count: a.dependencies_count,
            identifier: a.identifier,
            name: a.name,
            organization_id: a.organization_id.into_string(),
            owner_type: a.owner_type.as_str(),
            slug: a.slug,
            updated_at: a.updated_at,
            zone_id: a.zone_id.into_string(),
            description: a.description,
            metadata: a.metadata,
            protocols,
            traits: a.traits,
        }
    }
}

// ----- resources ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateResource {
    pub identifier: String,
    pub name: String,
    pub application_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub application_type: Option<ApplicationType>,
    pub credential_lifetime_seconds: Option<i64>,
    pub credential_provider_id: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    pub prefix: Option<bool>,
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateResource {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub application_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub application_type: Patch<ApplicationType>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub credential_lifetime_seconds: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub credential_provider_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub identifier: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<MetadataPatch>)]
    pub metadata: Patch<MetadataPatch>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub prefix: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Patch<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    pub id: String,
    #[schema(value_type = String)]
    pub application_type: ApplicationType,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub identifier: String,
    pub name: String,
    pub organization_id: String,
    pub owner_type: &'static str,
    pub prefix: bool,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
    pub application_id: Option<String>,
    pub credential_lifetime_seconds: Option<i64>,
    pub credential_provider_id: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    pub scopes: Option<Vec<String>>,
    /// Only on dependency reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_accessing: Option<Vec<String>>,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id.into_string(),
            application_type: r.application_type,
            created_at: r.created_at,
            identifier: r.identifier,
            name: r.name,
            organization_id: r.organization_id.into_string(),
            owner_type: r.owner_type.as_str(),
            prefix: r.prefix,
            slug: r.slug,
            updated_at: r.updated_at,
            zone_id: r.zone_id.into_string(),
            application_id: r.application_id.map(|a| a.into_string()),
            credential_lifetime_seconds: r.credential_lifetime_seconds,
            credential_provider_id: r.credential_provider_id.map(|p| p.into_string()),
            description: r.description,
            metadata: r.metadata,
            scopes: r.scopes,
            when_accessing: None,
        }
    }
}

impl From<Dependency> for ResourceView {
    fn from(d: Dependency) -> Self {
        let mut view = Self::from(d.resource);
        view.when_accessing = Some(
            d.when_accessing
                .into_iter()
                .map(|r| r.into_string())
                .collect(),
        );
        view
    }
}
