//! Wire types of providers (spec §3.7, §4.6).

use latchkey_domain::model::directory::{
    Provider, ProviderOAuth2, ProviderOpenId, ProviderProtocols, ProviderType,
};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

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
