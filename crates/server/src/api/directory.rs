//! Wire types of the zone directory: applications, dependencies, resources, providers and
//! application credentials (spec §3.5–3.10, §4.4–4.8).

use latchkey_domain::model::directory::{
    AppCredential, Application, ApplicationType, Consent, CredentialKind, Dependency, Metadata,
    Provider, ProviderOAuth2, ProviderOpenId, ProviderProtocols, ProviderType, Resource,
};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

// ----- providers ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderMetadataBody {
    pub icon_url: Option<String>,
}

/// OAuth 2.0 settings on create: every field optional, `issuer` defaults to the identifier.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderOAuth2Body {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub authorization_parameters: Option<BTreeMap<String, String>>,
    pub authorization_resource_enabled: Option<bool>,
    pub authorization_resource_parameter: Option<String>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    pub jwks_uri: Option<String>,
    pub registration_endpoint: Option<String>,
    pub scope_parameter: Option<String>,
    pub scope_separator: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub token_endpoint: Option<String>,
    pub token_response_access_token_pointer: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderProtocolsBody {
    pub oauth2: Option<ProviderOAuth2Body>,
    #[schema(value_type = Option<Object>)]
    pub openid: Option<ProviderOpenId>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProvider {
    pub identifier: String,
    pub name: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<ProviderMetadataBody>,
    pub protocols: Option<ProviderProtocolsBody>,
}

/// Every field of the OAuth 2.0 block is tri-state, except `issuer`, which cannot be null.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderOAuth2Patch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub issuer: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub authorization_endpoint: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub authorization_parameters: Patch<BTreeMap<String, String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub authorization_resource_enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub authorization_resource_parameter: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub code_challenge_methods_supported: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub jwks_uri: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub registration_endpoint: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub scope_parameter: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub scope_separator: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes_supported: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token_endpoint: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token_response_access_token_pointer: Patch<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderOpenIdPatch {
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub single_logout_enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub user_identifier_claim: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub userinfo_endpoint: Patch<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderProtocolsPatch {
    #[serde(default)]
    #[schema(value_type = Option<ProviderOAuth2Patch>)]
    pub oauth2: Patch<ProviderOAuth2Patch>,
    #[serde(default)]
    #[schema(value_type = Option<ProviderOpenIdPatch>)]
    pub openid: Patch<ProviderOpenIdPatch>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProviderMetadataPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub icon_url: Patch<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateProvider {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_secret: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub identifier: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ProviderMetadataPatch>)]
    pub metadata: Patch<ProviderMetadataPatch>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ProviderProtocolsPatch>)]
    pub protocols: Patch<ProviderProtocolsPatch>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderMetadataView {
    pub icon_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub identifier: String,
    pub name: String,
    pub organization_id: String,
    pub owner_type: &'static str,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub description: Option<String>,
    pub metadata: Option<ProviderMetadataView>,
    #[schema(value_type = Option<Object>)]
    pub protocols: Option<ProviderProtocols>,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: ProviderType,
}

impl From<Provider> for ProviderView {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id.into_string(),
            created_at: p.created_at,
            identifier: p.identifier,
            name: p.name,
            organization_id: p.organization_id.into_string(),
            owner_type: p.owner_type.as_str(),
            slug: p.slug,
            updated_at: p.updated_at,
            zone_id: p.zone_id.into_string(),
            client_id: p.client_id,
            client_secret_set: p.client_secret.is_some(),
            description: p.description,
            metadata: p.icon_url.map(|icon_url| ProviderMetadataView {
                icon_url: Some(icon_url),
            }),
            protocols: p.protocols,
            kind: p.kind,
        }
    }
}

/// Builds the stored OAuth 2.0 block from a create body (issuer defaulting to `identifier`).
pub fn oauth2_from_body(b: ProviderOAuth2Body, identifier: &str) -> ProviderOAuth2 {
    ProviderOAuth2 {
        issuer: b.issuer.unwrap_or_else(|| identifier.to_owned()),
        authorization_endpoint: b.authorization_endpoint,
        authorization_parameters: b.authorization_parameters,
        authorization_resource_enabled: b.authorization_resource_enabled,
        authorization_resource_parameter: b.authorization_resource_parameter,
        code_challenge_methods_supported: b.code_challenge_methods_supported,
        jwks_uri: b.jwks_uri,
        registration_endpoint: b.registration_endpoint,
        scope_parameter: b.scope_parameter,
        scope_separator: b.scope_separator,
        scopes_supported: b.scopes_supported,
        token_endpoint: b.token_endpoint,
        token_response_access_token_pointer: b.token_response_access_token_pointer,
    }
}

// ----- application credentials ----------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCredential {
    pub application_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: CredentialKind,
    pub identifier: Option<String>,
    pub provider_id: Option<String>,
    pub subject: Option<String>,
    pub jwks_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateCredential {
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<String>)]
    pub kind: Option<CredentialKind>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub identifier: Patch<String>,
}

/// One credential, a union on `type`; `password` only in the create response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ApplicationCredentialView)]
pub struct CredentialView {
    pub id: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: CredentialKind,
    pub application_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub identifier: String,
    pub organization_id: String,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl From<AppCredential> for CredentialView {
    fn from(c: AppCredential) -> Self {
        let token = c.kind == CredentialKind::Token;
        Self {
            id: c.id.into_string(),
            kind: c.kind,
            application_id: c.application_id.into_string(),
            created_at: c.created_at,
            identifier: c.identifier,
            organization_id: c.organization_id.into_string(),
            slug: c.slug,
            updated_at: c.updated_at,
            zone_id: c.zone_id.into_string(),
            provider_id: c.provider_id.map(|p| p.into_string()),
            subject: if token { c.subject } else { None },
            jwks_uri: c.jwks_uri,
            password: None,
        }
    }
}
