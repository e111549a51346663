//! The browser flows' records.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::UserId;
use crate::id::ZoneId;
use crate::model::identity::{Grant, Session};
use crate::model::login::{CodeUse, ConsentRecord, GrantData, RefreshRecord, RefreshUse};
use crate::time::Timestamp;

/// The browser flows: pending authorization requests, codes, refresh tokens, web sessions,
/// consents and upstream redirect state.
#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn put_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        params: &str,
        csrf: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// `(params, csrf)` of an unexpired request.
    async fn get_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, String)>>;
    async fn delete_auth_request(&self, zone: &ZoneId, id: &str) -> StoreResult<()>;
    /// Deletes an unexpired request and answers its `(params, csrf)`: whoever calls this
    /// concurrently for one request, at most one gets it.
    async fn take_auth_request(
        &self,
        zone: &ZoneId,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, String)>>;

    async fn put_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        grant: &GrantData,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Spends a code atomically.
    async fn use_code(
        &self,
        zone: &ZoneId,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<CodeUse>;

    async fn insert_refresh(&self, zone: &ZoneId, record: &RefreshRecord) -> StoreResult<()>;
    /// Rotates `old_hash` out in favour of `next_hash` (same family and grant, expiring at
    /// `expires_at`) in one transaction, extending the grant's token session to `expires_at`
    /// too; a token that was already rotated or revoked revokes its whole family instead.
    async fn rotate_refresh(
        &self,
        zone: &ZoneId,
        old_hash: &str,
        next_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshUse>;
    /// The grant behind an unspent, unexpired refresh token, without spending it.
    async fn peek_refresh(&self, zone: &ZoneId, token_hash: &str)
    -> StoreResult<Option<GrantData>>;
    /// Moves a session's expiry to `expires_at` (a refresh keeps its token session alive).
    async fn extend_session(
        &self,
        zone: &ZoneId,
        id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Deletes expired pending requests, codes, upstream states, refresh tokens and device
    /// authorizations (an hour after expiry); how many.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
    /// Revokes every refresh token of a family.
    async fn revoke_refresh_family(&self, zone: &ZoneId, family_id: &str) -> StoreResult<()>;
    /// Revokes the refresh token with this hash issued to `client_id` (and its family); false
    /// when there is no such token.
    async fn revoke_refresh(
        &self,
        zone: &ZoneId,
        token_hash: &str,
        client_id: &str,
    ) -> StoreResult<bool>;
    /// Revokes every refresh token issued from a session (after a code replay or logout).
    async fn revoke_refresh_for_session(&self, zone: &ZoneId, session_id: &str) -> StoreResult<()>;

    /// Inserts a browser session whose cookie has keyed hash `secret_hash`.
    async fn insert_web_session(&self, session: &Session, secret_hash: &str) -> StoreResult<()>;
    /// Ends the browser session `id` (a sign-out): its cookie signs nobody in any more. Only that
    /// session: the token sessions started from it keep their own lifetimes. Whether it was active.
    async fn end_web_session(&self, zone: &ZoneId, id: &str, now: Timestamp) -> StoreResult<bool>;
    /// The active web session whose cookie hashes to `secret_hash`.
    async fn find_web_session(
        &self,
        zone: &ZoneId,
        secret_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Session>>;

    async fn get_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
    ) -> StoreResult<Option<ConsentRecord>>;
    /// Replaces what `user` consented to for `client_id`.
    async fn put_consent(
        &self,
        zone: &ZoneId,
        user: &UserId,
        client_id: &str,
        consent: &ConsentRecord,
    ) -> StoreResult<()>;

    async fn put_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        sealed: &[u8],
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Takes (reads and deletes) an unexpired upstream state.
    async fn take_upstream_state(
        &self,
        zone: &ZoneId,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Vec<u8>>>;

    /// Records a user's sign-in time.
    async fn touch_user(&self, zone: &ZoneId, user: &UserId, at: Timestamp) -> StoreResult<()>;
    /// Replaces a grant's upstream tokens and expiry (after a refresh or a new authorization).
    async fn update_grant_tokens(&self, grant: &Grant) -> StoreResult<()>;
}
