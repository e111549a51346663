//! Identity records (users, user agents, sessions, delegated grants) and zone signing keys.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::ZoneId;
use crate::id::{GrantId, ResourceId, SessionId, UserAgentId, UserId};
use crate::model::identity::{Grant, Session, SessionType, Status, User, UserAgent};
use crate::model::keys::StoredKey;
use crate::page::{ListFilter, Page, PageRequest};
use crate::time::Timestamp;

/// Filters of the users list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub list: ListFilter,
    pub external: Option<bool>,
}

/// Filters of the sessions list.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub include_nested: bool,
    pub session_type: Option<SessionType>,
    pub status: Option<Status>,
    pub user_id: Option<UserId>,
}

/// Filters of the delegated-grants list.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub status: Option<Status>,
    pub user_id: Option<UserId>,
    pub resource_id: Option<ResourceId>,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, zone: &ZoneId, id: &UserId) -> StoreResult<Option<User>>;
    async fn list_users(
        &self,
        zone: &ZoneId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<User>>;
    /// Number of sessions and of grants of a user, for the `session_count`/`grant_count` expansions.
    async fn user_counts(&self, zone: &ZoneId, id: &UserId) -> StoreResult<(u64, u64)>;

    async fn insert_user_agent(&self, agent: UserAgent) -> StoreResult<UserAgent>;
    async fn get_user_agent(
        &self,
        zone: &ZoneId,
        id: &UserAgentId,
    ) -> StoreResult<Option<UserAgent>>;
    /// The user agent whose OAuth client id is `identifier` (`ua:…`).
    async fn find_user_agent(
        &self,
        zone: &ZoneId,
        identifier: &str,
    ) -> StoreResult<Option<UserAgent>>;
    async fn list_user_agents(
        &self,
        zone: &ZoneId,
        page: &PageRequest,
    ) -> StoreResult<Page<UserAgent>>;
    /// Replaces a user agent's name and registration (a client metadata document that changed);
    /// false when there is no such user agent.
    async fn update_user_agent_registration(
        &self,
        zone: &ZoneId,
        id: &UserAgentId,
        name: &str,
        registration: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Deletes a registered client with its sessions and consents; nothing issued to it can be
    /// refreshed afterwards.
    async fn delete_user_agent(&self, zone: &ZoneId, id: &UserAgentId) -> StoreResult<bool>;

    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    async fn get_session(&self, zone: &ZoneId, id: &SessionId) -> StoreResult<Option<Session>>;
    async fn list_sessions(
        &self,
        zone: &ZoneId,
        filter: &SessionFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> StoreResult<Page<Session>>;
    /// Revokes the session and every session below it.
    async fn revoke_session(
        &self,
        zone: &ZoneId,
        id: &SessionId,
        now: Timestamp,
    ) -> StoreResult<bool>;
    async fn delete_session(&self, zone: &ZoneId, id: &SessionId) -> StoreResult<bool>;

    async fn insert_grant(&self, grant: &Grant) -> StoreResult<()>;
    async fn get_grant(&self, zone: &ZoneId, id: &GrantId) -> StoreResult<Option<Grant>>;
    async fn list_grants(
        &self,
        zone: &ZoneId,
        filter: &GrantFilter,
        now: Timestamp,
        page: &PageRequest,
    ) -> StoreResult<Page<Grant>>;
    async fn revoke_grant(&self, zone: &ZoneId, id: &GrantId, now: Timestamp) -> StoreResult<bool>;
    async fn delete_grant(&self, zone: &ZoneId, id: &GrantId) -> StoreResult<bool>;
}

/// Zone signing keys and the client-assertion replay cache.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The zone's published keys (next, current, and previous ones not yet retired at `now`).
    async fn list_keys(&self, zone: &ZoneId, now: Timestamp) -> StoreResult<Vec<StoredKey>>;
    /// Installs the first keys of a zone if it has none; returns whether they were inserted.
    async fn init_keys(
        &self,
        zone: &ZoneId,
        current: &StoredKey,
        next: &StoredKey,
    ) -> StoreResult<bool>;
    /// Rotates atomically: drops retired keys, current → previous (until `retire_at`),
    /// next → current, and inserts `new_next`.
    async fn rotate_keys(
        &self,
        zone: &ZoneId,
        new_next: &StoredKey,
        retire_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Replaces the zone's `next` key (e.g. after its signing algorithm changed).
    async fn replace_next_key(&self, zone: &ZoneId, next: &StoredKey) -> StoreResult<()>;
    /// Zones whose current key was activated before `before`.
    async fn zones_due_for_rotation(&self, before: Timestamp) -> StoreResult<Vec<ZoneId>>;
    /// Records an assertion `jti`; false if it was already seen (a replay).
    async fn remember_jti(
        &self,
        zone: &ZoneId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}
