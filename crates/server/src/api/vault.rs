//! Wire types of the secrets vault (spec §3.14, §4.12).

use latchkey_domain::model::vault::{Secret, SecretKind};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A secret's value, discriminated on `type`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SecretData {
    Token { token: String },
    Password { username: String, password: String },
}

impl SecretData {
    pub fn kind(&self) -> SecretKind {
        match self {
            Self::Token { .. } => SecretKind::Token,
            Self::Password { .. } => SecretKind::Password,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSecret {
    pub data: SecretData,
    pub entity_id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Optional echo of the path's zone id.
    pub zone_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateSecret {
    pub data: Option<SecretData>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
}

/// A secret without its data (list, create and update responses).
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub entity_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub version: i64,
    pub zone_id: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl From<Secret> for SecretView {
    fn from(s: Secret) -> Self {
        Self {
            id: s.id.into_string(),
            created_at: s.created_at,
            entity_id: s.entity_id,
            name: s.name,
            kind: s.kind.as_str(),
            updated_at: s.updated_at,
            version: s.version,
            zone_id: s.zone_id.into_string(),
            description: s.description,
            metadata: s.metadata,
        }
    }
}

/// The single-secret read: the only response that carries `data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretWithData {
    #[serde(flatten)]
    pub secret: SecretView,
    pub data: SecretData,
}
