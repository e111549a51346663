//! The periodic purge (`purge_expired`, every ten minutes from the server): expired requests,
//! codes, states and device codes; refresh tokens past their expiry, and rotated ones past the
//! reuse-detection window; sessions that expired or ended, once nothing alive depends on them;
//! `zone_changes` rows long past the change poll's window (deleted zones' included).

use latchkey_domain::{StoreError, Timestamp};

use crate::error::OrStore;

/// Spent codes and device codes stay an hour past their expiry, so a late replay still revokes
/// and a late poll still hears `expired_token`.
const CODE_GRACE_MS: i64 = 3_600_000;

/// A rotated refresh token is kept this long after its rotation: presenting it again within the
/// window is recognised as reuse and revokes its family; later it is merely unknown.
pub const REFRESH_REUSE_WINDOW_MS: i64 = 86_400_000;

/// A zone's last-change row is kept this long: far past the minute the change poll reads, so a
/// row is never missed (the next change writes it again).
pub const ZONE_CHANGE_KEEP_MS: i64 = 3_600_000;

/// An expired or ended session is kept this long (it still shows in the session lists).
pub const SESSION_GRACE_MS: i64 = 86_400_000;

/// Sessions expired (or ended) before `$1`, unless a live refresh token names them (a web
/// session's own expiry does not end the refresh of tokens it signed in) or a live child
/// session hangs under them (children cascade from their parent). `$2` is now.
const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE \
    ((expires_at IS NOT NULL AND expires_at < $1) OR (status <> 'active' AND updated_at < $1)) \
    AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.zone_id = sessions.zone_id \
        AND r.session_id = sessions.id AND r.revoked = 0 AND r.rotated_at IS NULL \
        AND r.expires_at > $2) \
    AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.zone_id = sessions.zone_id \
        AND r.token_session_id = sessions.id AND r.revoked = 0 AND r.rotated_at IS NULL \
        AND r.expires_at > $2) \
    AND NOT EXISTS (SELECT 1 FROM sessions c WHERE c.zone_id = sessions.zone_id \
        AND c.parent_id = sessions.id AND c.status = 'active' \
        AND (c.expires_at IS NULL OR c.expires_at > $2))";

/// Deletes what has expired by `now`; the number of rows deleted.
pub(crate) async fn purge_expired(pool: &sqlx::AnyPool, now: Timestamp) -> Result<u64, StoreError> {
    let now = now.millis();
    let mut purged = 0;
    for (statement, before) in [
        (
            "DELETE FROM authorization_requests WHERE expires_at < $1",
            now,
        ),
        (
            "DELETE FROM authorization_codes WHERE expires_at < $1",
            now - CODE_GRACE_MS,
        ),
        ("DELETE FROM upstream_states WHERE expires_at < $1", now),
        ("DELETE FROM refresh_tokens WHERE expires_at < $1", now),
        (
            "DELETE FROM refresh_tokens WHERE rotated_at IS NOT NULL AND rotated_at < $1",
            now - REFRESH_REUSE_WINDOW_MS,
        ),
        (
            "DELETE FROM device_authorizations WHERE expires_at < $1",
            now - CODE_GRACE_MS,
        ),
        (
            "DELETE FROM zone_changes WHERE changed_at < $1",
            now - ZONE_CHANGE_KEEP_MS,
        ),
    ] {
        purged += sqlx::query(statement)
            .bind(before)
            .execute(pool)
            .await
            .store()?
            .rows_affected();
    }
    purged += sqlx::query(PURGE_SESSIONS)
        .bind(now - SESSION_GRACE_MS)
        .bind(now)
        .execute(pool)
        .await
        .store()?
        .rows_affected();
    Ok(purged)
}
