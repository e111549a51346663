//! Service-account and service-account-credential wire types.

use latchkey_domain::model::service_account::{ServiceAccount, ServiceAccountCredential};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Permissions;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceAccountView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl ServiceAccountView {
    pub fn new(sa: ServiceAccount, permissions: Option<Permissions>) -> Self {
        Self {
            id: sa.id.into_string(),
            created_at: sa.created_at,
            name: sa.name,
            updated_at: sa.updated_at,
            description: sa.description,
            permissions,
        }
    }
}

/// A credential as read back: never the secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServiceAccountCredentialView)]
pub struct CredentialView {
    pub id: String,
    pub client_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl CredentialView {
    pub fn new(c: ServiceAccountCredential, permissions: Option<Permissions>) -> Self {
        Self {
            id: c.id.into_string(),
            client_id: c.client_id,
            created_at: c.created_at,
            name: c.name,
            description: c.description,
            last_used_at: c.last_used_at,
            permissions,
        }
    }
}

/// The create response: the only place the plaintext `client_secret` ever appears.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialCreated {
    pub id: String,
    pub client_id: String,
    pub client_secret: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateNamed {
    pub name: String,
    pub description: Option<String>,
}

/// PATCH body: `name` cannot be null; `description: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateNamed {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
}

/// `POST /service-account-token` success body.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}
