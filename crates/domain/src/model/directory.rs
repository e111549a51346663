//! The zone directory: applications, resources, providers and application credentials. Each is
//! keyed by `(zone_id, id)`; cross-references always point inside the same zone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::OwnerType;
use crate::id::{AppCredentialId, ApplicationId, OrganizationId, ProviderId, ResourceId, ZoneId};
use crate::time::Timestamp;

/// Links shown with applications and resources.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

impl Metadata {
    pub fn is_empty(&self) -> bool {
        self.docs_url.is_none() && self.icon_url.is_none()
    }
}

/// Whether users must consent before an application acts for them (rule B14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    Implicit,
    #[default]
    Required,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub zone_id: ZoneId,
    pub id: ApplicationId,
    pub organization_id: OrganizationId,
    pub identifier: String,
    pub name: String,
    pub slug: String,
    pub owner_type: OwnerType,
    pub consent: Consent,
    pub description: Option<String>,
    pub metadata: Option<Metadata>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub traits: Vec<String>,
    /// Number of resource dependencies; computed by the store, never written.
    pub dependencies_count: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The client type a resource expects (rule B13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    Native,
    #[default]
    Web,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub zone_id: ZoneId,
    pub id: ResourceId,
    pub organization_id: OrganizationId,
    pub identifier: String,
    pub name: String,
    pub slug: String,
    pub owner_type: OwnerType,
    pub application_id: Option<ApplicationId>,
    pub application_type: ApplicationType,
    pub credential_lifetime_seconds: Option<i64>,
    pub credential_provider_id: Option<ProviderId>,
    pub description: Option<String>,
    pub metadata: Option<Metadata>,
    pub prefix: bool,
    pub scopes: Option<Vec<String>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A resource as a dependency of an application, with its `when_accessing` conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub resource: Resource,
    pub when_accessing: Vec<ResourceId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderType {
    External,
    KeycardVault,
    KeycardSts,
}

impl ProviderType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::External => "external",
            Self::KeycardVault => "keycard-vault",
            Self::KeycardSts => "keycard-sts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::External, Self::KeycardVault, Self::KeycardSts]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// An upstream provider's OAuth 2.0 settings (every quirk the login and delegation flows need).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProviderOAuth2 {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_parameters: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_resource_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_resource_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_response_access_token_pointer: Option<String>,
}

/// An upstream provider's OpenID Connect settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProviderOpenId {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_logout_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identifier_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProviderProtocols {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<ProviderOAuth2>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<ProviderOpenId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub zone_id: ZoneId,
    pub id: ProviderId,
    pub organization_id: OrganizationId,
    pub identifier: String,
    pub name: String,
    pub slug: String,
    pub owner_type: OwnerType,
    pub kind: ProviderType,
    pub client_id: Option<String>,
    /// The client secret, sealed (envelope-encrypted); never leaves the server.
    pub client_secret: Option<Vec<u8>>,
    pub description: Option<String>,
    pub icon_url: Option<String>,
    pub protocols: Option<ProviderProtocols>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The five kinds of application credential (spec §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    Token,
    Password,
    PublicKey,
    Url,
    Public,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Password => "password",
            Self::PublicKey => "public-key",
            Self::Url => "url",
            Self::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Token,
            Self::Password,
            Self::PublicKey,
            Self::Url,
            Self::Public,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the identifier is an OAuth `client_id` (unique in the zone). A token
    /// credential's identifier is a subject (or `*`) instead.
    pub fn is_client_id(self) -> bool {
        self != Self::Token
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredential {
    pub zone_id: ZoneId,
    pub id: AppCredentialId,
    pub organization_id: OrganizationId,
    pub application_id: ApplicationId,
    pub kind: CredentialKind,
    pub identifier: String,
    pub slug: String,
    pub subject: Option<String>,
    pub provider_id: Option<ProviderId>,
    pub jwks_uri: Option<String>,
    /// Keyed hash of a password credential's secret.
    pub secret_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
