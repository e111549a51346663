//! Wire types of application credentials (spec §3.8, §4.7).

use latchkey_domain::model::directory::{AppCredential, CredentialKind};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
