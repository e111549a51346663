//! Wire types of the identity records (spec §3.8, §3.11–3.13, §4.7, §4.9–4.11).

use latchkey_domain::Timestamp;
use latchkey_domain::model::identity::{Grant, Session, SessionType, Status, User, UserAgent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub email: String,
    pub email_verified: bool,
    pub external: bool,
    pub identifier: String,
    pub organization_id: String,
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
    #[schema(value_type = Option<String>)]
    pub authenticated_at: Option<Timestamp>,
    pub issuer: Option<String>,
    pub provider_id: Option<String>,
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub role_assignments: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub groups: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub credentials: Option<Vec<serde_json::Value>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.into_string(),
            created_at: u.created_at,
            email: u.email,
            email_verified: u.email_verified,
            external: u.external,
            identifier: u.identifier,
            organization_id: u.organization_id.into_string(),
            status: u.status,
            updated_at: u.updated_at,
            zone_id: u.zone_id.into_string(),
            authenticated_at: u.authenticated_at,
            issuer: u.issuer,
            provider_id: u.provider_id.map(|p| p.into_string()),
            subject: u.subject,
            session_count: None,
            grant_count: None,
            role_assignments: None,
            groups: None,
            credentials: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserAgentView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub identifier: String,
    pub name: String,
    pub organization_id: String,
    pub slug: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub zone_id: String,
}

impl From<UserAgent> for UserAgentView {
    fn from(a: UserAgent) -> Self {
        Self {
            id: a.id.into_string(),
            created_at: a.created_at,
            identifier: a.identifier,
            name: a.name,
            organization_id: a.organization_id.into_string(),
            slug: a.slug,
            updated_at: a.updated_at,
            zone_id: a.zone_id.into_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionMetadata {
    pub name: String,
}

/// A session, a union on `session_type`; application sessions never carry `parent_id`/`user_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    #[schema(value_type = String)]
    pub session_type: SessionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub application_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub provider_id: Option<String>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub metadata: Option<SessionMetadata>,
    #[schema(value_type = Option<Object>)]
    pub session_data: Option<serde_json::Value>,
    #[schema(value_type = String)]
    pub status: Status,
    /// Deprecated: `status == active`.
    pub active: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub authenticated_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub organization_id: String,
    pub zone_id: String,
}

impl SessionView {
    pub fn new(s: Session, now: Timestamp) -> Self {
        let status = s.status.effective(s.expires_at, now);
        let user = s.session_type == SessionType::User;
        Self {
            id: s.id.into_string(),
            session_type: s.session_type,
            user_id: s.user_id.map(|u| u.into_string()),
            application_id: s.application_id.map(|a| a.into_string()),
            user_agent_id: s.user_agent_id.map(|a| a.into_string()),
            parent_id: if user {
                s.parent_id.map(|p| p.into_string())
            } else {
                None
            },
            provider_id: s.provider_id.map(|p| p.into_string()),
            issuer: s.issuer,
            subject: s.subject,
            metadata: s.metadata_name.map(|name| SessionMetadata { name }),
            session_data: s.session_data,
            status,
            active: status == Status::Active,
            authenticated_at: s.authenticated_at,
            expires_at: s.expires_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            organization_id: s.organization_id.into_string(),
            zone_id: s.zone_id.into_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub organization_id: String,
    pub provider_id: String,
    pub refresh_token_set: bool,
    pub resource_id: String,
    pub scopes: Vec<String>,
    #[schema(value_type = String)]
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub user_id: String,
    pub zone_id: String,
    /// Deprecated: `status == active`.
    pub active: bool,
    /// Left out when never refreshed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refreshed_at: Option<Timestamp>,
}

impl GrantView {
    pub fn new(g: Grant, now: Timestamp) -> Self {
        let status = g.status.effective(Some(g.expires_at), now);
        Self {
            id: g.id.into_string(),
            created_at: g.created_at,
            expires_at: g.expires_at,
            organization_id: g.organization_id.into_string(),
            provider_id: g.provider_id.into_string(),
            refresh_token_set: g.refresh_token_set,
            resource_id: g.resource_id.into_string(),
            scopes: g.scopes,
            status,
            updated_at: g.updated_at,
            user_id: g.user_id.into_string(),
            zone_id: g.zone_id.into_string(),
            active: status == Status::Active,
            refreshed_at: g.refreshed_at,
        }
    }
}

/// `PATCH` body of sessions and grants: `{"status": "revoked"}` is the only change allowed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeBody {
    /// Must be `revoked`.
    #[schema(value_type = RevokedStatus)]
    pub status: String,
}

/// The one status a `PATCH` may set (documentation only: the handler checks the string).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RevokedStatus {
    Revoked,
}
