//! The zone vault: versioned secrets whose data is sealed at rest and whose metadata is not.

use serde::{Deserialize, Serialize};

use super::OwnerType;
use crate::id::{SecretId, ZoneId};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    Token,
    Password,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Password => "password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "token" => Some(Self::Token),
            "password" => Some(Self::Password),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub zone_id: ZoneId,
    pub id: SecretId,
    pub entity_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: SecretKind,
    pub owner_type: OwnerType,
    pub metadata: Option<serde_json::Value>,
    pub version: i64,
    /// The secret's data, sealed with `(zone, secret, id, version)` as context.
    pub data: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
