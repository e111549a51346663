//! Wire types of the organization SSO connection (spec §3.1.18–3.1.21, §4.2 `SSOConnection`).
//! The client secret goes in, never out: responses carry only `client_secret_set`.

use std::collections::BTreeMap;

use latchkey_domain::model::sso::{SsoConnection, SsoProtocols};
use latchkey_domain::{Patch, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Permissions;

/// `POST /organizations/{organization_id}/sso-connection`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnableSsoConnection {
    /// The OAuth 2.0 client id at the identity provider.
    pub client_id: Option<String>,
    /// The identity provider's issuer URL (1–2048 characters).
    pub identifier: Option<String>,
    /// Stored sealed; never returned.
    pub client_secret: Option<String>,
    /// `{oauth2?: {...}, openid?: {...}}`; every sub-field optional and nullable.
    #[schema(value_type = Option<Object>)]
    pub protocols: Option<SsoProtocols>,
}

/// The `oauth2` block of a PATCH: every field tri-state.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SsoOAuth2Patch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub authorization_endpoint: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub authorization_parameters: Patch<BTreeMap<String, String>>,
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
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes_supported: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub token_endpoint: Patch<String>,
}

/// The `openid` block of a PATCH: every field tri-state.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SsoOpenIdPatch {
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub user_identifier_claim: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub userinfo_endpoint: Patch<String>,
}

/// `protocols` of a PATCH: an omitted protocol is left as is, `null` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SsoProtocolsPatch {
    #[serde(default)]
    #[schema(value_type = Option<SsoOAuth2Patch>)]
    pub oauth2: Patch<SsoOAuth2Patch>,
    #[serde(default)]
    #[schema(value_type = Option<SsoOpenIdPatch>)]
    pub openid: Patch<SsoOpenIdPatch>,
}

/// `PATCH /organizations/{organization_id}/sso-connection`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateSsoConnection {
    /// `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_id: Patch<String>,
    /// `null` removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_secret: Patch<String>,
    /// Cannot be null.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub identifier: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<SsoProtocolsPatch>)]
    pub protocols: Patch<SsoProtocolsPatch>,
}

/// `SSOConnection`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConnectionView {
    pub id: String,
    /// Always present; null when removed.
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub identifier: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<Object>)]
    pub protocols: Option<SsoProtocols>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl SsoConnectionView {
    pub fn new(c: SsoConnection, permissions: Option<Permissions>) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id,
            client_secret_set: c.client_secret.is_some(),
            created_at: c.created_at,
            identifier: c.identifier,
            updated_at: c.updated_at,
            protocols: c.protocols,
            permissions,
        }
    }
}
