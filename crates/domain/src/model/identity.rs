//! Identity records made by the login and token flows: users, user agents (registered client
//! programs), sessions and delegated grants.

use serde::{Deserialize, Serialize};

use crate::id::{
    ApplicationId, GrantId, OrganizationId, ProviderId, ResourceId, SessionId, UserAgentId, UserId,
    ZoneId,
};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub zone_id: ZoneId,
    pub id: UserId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub email_verified: bool,
    pub external: bool,
    pub identifier: String,
    /// `active` or `disabled`.
    pub status: String,
    pub authenticated_at: Option<Timestamp>,
    pub issuer: Option<String>,
    pub provider_id: Option<ProviderId>,
    pub subject: Option<String>,
    /// argon2id hash for email/password users.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserAgent {
    pub zone_id: ZoneId,
    pub id: UserAgentId,
    pub organization_id: OrganizationId,
    /// `ua:{sha256}`; also the OAuth client_id.
    pub identifier: String,
    pub name: String,
    pub slug: String,
    /// The registration request as received (RFC 7591 metadata).
    pub registration: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Lifecycle of sessions and grants. `Expired` is derived from `expires_at` on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Expired,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Expired, Self::Revoked]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// The status as of `now`: an active record past its expiry reads as expired.
    pub fn effective(self, expires_at: Option<Timestamp>, now: Timestamp) -> Self {
        match (self, expires_at) {
            (Self::Active, Some(e)) if e <= now => Self::Expired,
            (s, _) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    User,
    Application,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub zone_id: ZoneId,
    pub id: SessionId,
    pub organization_id: OrganizationId,
    pub session_type: SessionType,
    pub user_id: Option<UserId>,
    pub application_id: Option<ApplicationId>,
    pub user_agent_id: Option<UserAgentId>,
    pub parent_id: Option<SessionId>,
    pub provider_id: Option<ProviderId>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// Name of the initiating application or user agent.
    pub metadata_name: Option<String>,
    pub session_data: Option<serde_json::Value>,
    pub status: Status,
    pub authenticated_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub zone_id: ZoneId,
    pub id: GrantId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub resource_id: ResourceId,
    pub provider_id: ProviderId,
    pub scopes: Vec<String>,
    pub status: Status,
    pub expires_at: Timestamp,
    pub refresh_token_set: bool,
    pub refreshed_at: Option<Timestamp>,
    /// Upstream tokens, sealed.
    pub access_token: Option<Vec<u8>>,
    pub refresh_token: Option<Vec<u8>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
