//! An organization's single sign-on connection: the upstream identity provider its people sign
//! in through (at most one per organization). The connection is what the management API shows;
//! the platform zone signs people in through a platform-owned provider projected from it
//! ([`SsoConnection::provider`]), which the store keeps in step with every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::OwnerType;
use super::directory::{Provider, ProviderOAuth2, ProviderOpenId, ProviderProtocols, ProviderType};
use crate::id::{OrganizationId, ProviderId, ZoneId};
use crate::time::Timestamp;

/// The OAuth 2.0 settings of a connection; absent endpoints come from OIDC discovery.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SsoOAuth2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Extra query parameters of the upstream authorization request (never the protocol's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_parameters: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
}

/// The OpenID Connect settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SsoOpenId {
    /// Extra scopes, asked for with `openid profile email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The ID-token claim that becomes the user's identifier when the account is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identifier_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SsoProtocols {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<SsoOAuth2>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<SsoOpenId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConnection {
    pub organization_id: OrganizationId,
    pub id: String,
    /// The platform zone's provider that carries the connection.
    pub provider_id: ProviderId,
    /// The IdP's issuer URL.
    pub identifier: String,
    pub client_id: Option<String>,
    /// Sealed under the provider's secret context (the provider holds the same bytes).
    pub client_secret: Option<Vec<u8>>,
    pub protocols: Option<SsoProtocols>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The slug and name of the provider an SSO connection projects into its platform zone.
pub const SSO_PROVIDER_SLUG: &str = "organization-sso";

impl SsoConnection {
    /// The platform-owned provider of platform zone `zone` that signs people in through this
    /// connection: issuer = `identifier`, the connection's client and endpoints.
    pub fn provider(&self, zone: &ZoneId) -> Provider {
        let protocols = self.protocols.clone().unwrap_or_default();
        let oauth2 = protocols.oauth2.map(|o| ProviderOAuth2 {
            issuer: self.identifier.clone(),
            authorization_endpoint: o.authorization_endpoint,
            authorization_parameters: o.authorization_parameters,
            code_challenge_methods_supported: o.code_challenge_methods_supported,
            jwks_uri: o.jwks_uri,
            registration_endpoint: o.registration_endpoint,
            scopes_supported: o.scopes_supported,
            token_endpoint: o.token_endpoint,
            ..ProviderOAuth2::default()
        });
        let openid = protocols.openid.map(|o| ProviderOpenId {
            scopes: o.scopes,
            single_logout_enabled: None,
            user_identifier_claim: o.user_identifier_claim,
            userinfo_endpoint: o.userinfo_endpoint,
        });
        Provider {
            zone_id: zone.clone(),
            id: self.provider_id.clone(),
            organization_id: self.organization_id.clone(),
            identifier: self.identifier.clone(),
            name: "Organization SSO".to_owned(),
            slug: SSO_PROVIDER_SLUG.to_owned(),
            owner_type: OwnerType::Platform,
            kind: ProviderType::External,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            description: Some("The organization's SSO connection (managed by the platform)".into()),
            icon_url: None,
            protocols: (oauth2.is_some() || openid.is_some())
                .then_some(ProviderProtocols { oauth2, openid }),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}
