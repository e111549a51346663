//! Zones: isolated environments, each with its own OAuth 2.0 / OIDC authorization server. This
//! module holds the stored zone and its protocol settings; URLs are derived by the server.

use serde::{Deserialize, Serialize};

use super::OwnerType;
use crate::id::{OrganizationId, ZoneId};
use crate::time::Timestamp;

/// How the login page routes users (seed field `login_flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LoginFlow {
    #[default]
    Default,
    IdentifierFirst,
}

impl LoginFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::IdentifierFirst => "identifier_first",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(Self::Default),
            "identifier_first" => Some(Self::IdentifierFirst),
            _ => None,
        }
    }
}

/// Client ID Metadata Document auto-provisioning (rule B40).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cimd {
    pub enabled: bool,
    pub allowed_client_ids: Vec<String>,
}

/// A customer-managed AWS KMS key (stored and reported; not yet used for encryption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionKey {
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub id: ZoneId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub description: Option<String>,
    pub slug: String,
    pub owner_type: OwnerType,
    pub external_sync_enabled: bool,
    pub dcr_enabled: bool,
    pub pkce_required: bool,
    pub cimd: Cimd,
    pub requires_invitation: bool,
    pub login_flow: LoginFlow,
    pub default_resource_id: Option<String>,
    pub default_mcp_gateway_application_id: Option<String>,
    pub user_identity_provider_id: Option<String>,
    pub encryption_key: Option<EncryptionKey>,
    /// JWS algorithm of the zone's signing keys: `RS256` (default), `ES256` or `EdDSA`.
    pub signing_alg: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Zone {
    /// A new customer zone with secure defaults (PKCE required, sign-up by invitation).
    pub fn new(id: ZoneId, organization_id: OrganizationId, name: String, now: Timestamp) -> Self {
        Self {
            id,
            organization_id,
            name,
            description: None,
            slug: String::new(),
            owner_type: OwnerType::Customer,
            external_sync_enabled: false,
            dcr_enabled: true,
            pkce_required: true,
            cimd: Cimd::default(),
            requires_invitation: true,
            login_flow: LoginFlow::Default,
            default_resource_id: None,
            default_mcp_gateway_application_id: None,
            user_identity_provider_id: None,
            encryption_key: None,
            signing_alg: "RS256".to_owned(),
            created_at: now,
            updated_at: now,
        }
    }
}
