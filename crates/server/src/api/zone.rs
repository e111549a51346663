//! Zone wire types: the create and PATCH bodies, and the Zone model with its server-derived
//! `protocols` URLs (zone-oauth.md §1.2 paths).

use latchkey_domain::model::zone::{Cimd, LoginFlow, Zone};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Permissions;

/// Paths of a zone's endpoints below its issuer; `Zone.protocols` and the metadata use these.
pub use latchkey_oauth::paths;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CimdBody {
    /// Exact client-id URLs, wildcard origins (`https://*.example.com`) or `*`.
    pub allowed_client_ids: Vec<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyProvider {
    Aws,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EncryptionKeyBody {
    pub arn: String,
    #[serde(rename = "type")]
    pub provider: KeyProvider,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OAuth2Create {
    pub cimd: Option<CimdBody>,
    pub dcr_enabled: Option<bool>,
    pub pkce_required: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProtocolsCreate {
    pub oauth2: Option<OAuth2Create>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateZone {
    /// 1–255 characters, no HTML or control characters.
    pub name: String,
    /// At most 2048 characters.
    pub description: Option<String>,
    /// Create a default MCP gateway application (not yet supported: must be false or absent).
    pub default_mcp_gateway_application: Option<bool>,
    pub encryption_key: Option<EncryptionKeyBody>,
    /// Defaults to the caller's organization.
    pub organization_id: Option<String>,
    pub protocols: Option<ProtocolsCreate>,
    /// Default true; gates email/password sign-up when no user identity provider is set.
    pub requires_invitation: Option<bool>,
    /// Latchkey extension (seed field): `default` or `identifier_first`.
    #[schema(value_type = Option<String>)]
    pub login_flow: Option<LoginFlow>,
    /// Latchkey extension: token signing algorithm, `RS256` (default), `ES256` or `EdDSA`.
    pub signing_alg: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OAuth2Patch {
    #[serde(default)]
    #[schema(value_type = Option<CimdBody>)]
    pub cimd: Patch<CimdBody>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub dcr_enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub pkce_required: Patch<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProtocolsPatch {
    #[serde(default)]
    #[schema(value_type = Option<OAuth2Patch>)]
    pub oauth2: Patch<OAuth2Patch>,
}

/// PATCH body: absent = unchanged, null = clear (nullable fields only), value = set.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateZone {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_mcp_gateway_application_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_resource_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<EncryptionKeyBody>)]
    pub encryption_key: Patch<EncryptionKeyBody>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub external_sync_enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<ProtocolsPatch>)]
    pub protocols: Patch<ProtocolsPatch>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub requires_invitation: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub user_identity_provider_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub login_flow: Patch<LoginFlow>,
    /// Latchkey extension: the algorithm of the next signing key (takes effect at the next rotation).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub signing_alg: Patch<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EncryptionKeyView {
    pub arn: String,
    #[serde(rename = "type")]
    pub provider: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneOAuth2 {
    pub authorization_endpoint: String,
    pub authorization_server_metadata: String,
    pub cimd: CimdBody,
    pub dcr_enabled: bool,
    pub issuer: String,
    pub jwks_uri: String,
    pub pkce_required: bool,
    pub redirect_uri: String,
    pub registration_endpoint: String,
    pub token_endpoint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneOpenId {
    pub provider_configuration: String,
    pub userinfo_endpoint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneProtocols {
    pub oauth2: ZoneOAuth2,
    pub openid: ZoneOpenId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub external_sync_enabled: bool,
    pub name: String,
    pub organization_id: String,
    /// `platform` or `customer`.
    pub owner_type: &'static str,
    pub protocols: ZoneProtocols,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub default_mcp_gateway_application_id: Option<String>,
    pub default_resource_id: Option<String>,
    pub description: Option<String>,
    pub encryption_key: Option<EncryptionKeyView>,
    pub requires_invitation: bool,
    pub user_identity_provider_id: Option<String>,
    /// `default` or `identifier_first`.
    pub login_flow: &'static str,
    /// Latchkey extension: `RS256`, `ES256` or `EdDSA`.
    pub signing_alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl ZoneView {
    /// The wire form of `zone`, its URLs derived from `issuer`.
    pub fn new(zone: Zone, issuer: String, permissions: Option<Permissions>) -> Self {
        let url = |path: &str| format!("{issuer}{path}");
        let Cimd {
            enabled,
            allowed_client_ids,
        } = zone.cimd;
        let protocols = ZoneProtocols {
            oauth2: ZoneOAuth2 {
                authorization_endpoint: url(paths::AUTHORIZE),
                authorization_server_metadata: url(paths::AS_METADATA),
                cimd: CimdBody {
                    allowed_client_ids,
                    enabled,
                },
                dcr_enabled: zone.dcr_enabled,
                jwks_uri: url(paths::JWKS),
                pkce_required: zone.pkce_required,
                redirect_uri: url(paths::REDIRECT),
                registration_endpoint: url(paths::REGISTRATION),
                token_endpoint: url(paths::TOKEN),
                issuer: issuer.clone(),
            },
            openid: ZoneOpenId {
                provider_configuration: url(paths::OIDC_CONFIGURATION),
                userinfo_endpoint: url(paths::USERINFO),
            },
        };
        Self {
            id: zone.id.into_string(),
            created_at: zone.created_at,
            external_sync_enabled: zone.external_sync_enabled,
            name: zone.name,
            organization_id: zone.organization_id.into_string(),
            owner_type: zone.owner_type.as_str(),
            protocols,
            slug: zone.slug,
            updated_at: zone.updated_at,
            default_mcp_gateway_application_id: zone.default_mcp_gateway_application_id,
            default_resource_id: zone.default_resource_id,
            description: zone.description,
            encryption_key: zone.encryption_key.map(|k| EncryptionKeyView {
                arn: k.arn,
                provider: "aws",
            }),
            requires_invitation: zone.requires_invitation,
            user_identity_provider_id: zone.user_identity_provider_id,
            login_flow: zone.login_flow.as_str(),
            signing_alg: zone.signing_alg,
            permissions,
        }
    }
}
