//! What the token endpoint answers: the RFC 6749 §5.1 / RFC 8693 §2.2.1 response body, and the
//! token type URIs.

pub const TOKEN_TYPE_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Keycard's substitute-user token type (impersonation, zone-oauth.md §2.5).
pub const TOKEN_TYPE_SUBSTITUTE_USER: &str = "urn:keycard:params:oauth:token-type:substitute-user";

/// A successful token response body.
#[derive(Debug, serde::Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Latchkey extension: the username of a vaulted password secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}
