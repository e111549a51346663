//! Refresh tokens: stored as keyed hashes, rotated by family on every use; a reused or revoked
//! token revokes its family, and a token whose web or token session ended refreshes nothing.

use latchkey_domain::id::ZoneId;
use latchkey_domain::model::login::{GrantData, RefreshRecord, RefreshUse};
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;

use crate::SqlStore;
use crate::error::OrStore;
use crate::grant_rows::{grant_json, grant_of, s};
use crate::sql::insert_row;

/// One transaction: spends `old_hash` (an `UPDATE … RETURNING` that only a fresh, unspent token
/// passes), checks its sessions in one query, stores `next_hash` and extends the grant's token
/// session to `expires_at`. Only a token that does not rotate takes a second look, to tell reuse
/// (which revokes the family) from an unknown token.
pub(crate) async fn rotate_refresh(
    store: &SqlStore,
    zone: &ZoneId,
    old_hash: &str,
    next_hash: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<RefreshUse, StoreError> {
    let mut w = store.db.write().await?;
    let row = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = $3 WHERE zone_id = $1 AND token_hash = $2 \
         AND rotated_at IS NULL AND revoked = 0 RETURNING family_id, grant_data, expires_at",
    )
    .bind(s(zone.as_str()))
    .bind(s(old_hash))
    .bind(now.millis())
    .fetch_optional(&mut *w.tx)
    .await
    .store()?;
    let Some(row) = row else {
        let spent = sqlx::query(
            "SELECT family_id FROM refresh_tokens WHERE zone_id = $1 AND token_hash = $2",
        )
        .bind(s(zone.as_str()))
        .bind(s(old_hash))
        .fetch_optional(&mut *w.tx)
        .await
        .store()?;
        let Some(spent) = spent else {
            return Ok(RefreshUse::Invalid);
        };
        let family: String = spent.try_get("family_id").store()?;
        revoke_family(&mut *w.tx, zone, &family).await?;
        w.commit().await?;
        return Ok(RefreshUse::Reused);
    };
    if row.try_get::<i64, _>("expires_at").store()? <= now.millis() {
        // Dropping the transaction rolls the rotation back.
        return Ok(RefreshUse::Invalid);
    }
    let family: String = row.try_get("family_id").store()?;
    let grant = grant_of(row.try_get::<&str, _>("grant_data").store()?)?;
    if !sessions_alive(&mut w.tx, zone, &grant, now).await? {
        revoke_family(&mut *w.tx, zone, &family).await?;
        w.commit().await?;
        return Ok(RefreshUse::SessionEnded);
    }
    let next = RefreshRecord {
        token_hash: next_hash.to_owned(),
        family_id: family,
        grant,
        expires_at,
        created_at: now,
    };
    insert_refresh_row(&mut *w.tx, zone, &next).await?;
    if let Some(id) = &next.grant.token_session_id {
        sqlx::query(
            "UPDATE sessions SET expires_at = $3, updated_at = $4 \
             WHERE zone_id = $1 AND id = $2 AND status = 'active'",
        )
        .bind(s(zone.as_str()))
        .bind(s(id))
        .bind(expires_at.millis())
        .bind(now.millis())
        .execute(&mut *w.tx)
        .await
        .store()?;
    }
    w.commit().await?;
    Ok(RefreshUse::Rotated(Box::new(next.grant)))
}

pub(crate) async fn peek_refresh(
    store: &SqlStore,
    zone: &ZoneId,
    token_hash: &str,
) -> Result<Option<GrantData>, StoreError> {
    let row = sqlx::query(
        "SELECT grant_data FROM refresh_tokens WHERE zone_id = $1 AND token_hash = $2 \
         AND rotated_at IS NULL AND revoked = 0 AND expires_at > $3",
    )
    .bind(s(zone.as_str()))
    .bind(s(token_hash))
    .bind(Timestamp::now().millis())
    .fetch_optional(store.db.pool())
    .await
    .store()?;
    row.map(|r| grant_of(r.try_get::<&str, _>("grant_data").store()?))
        .transpose()
}

pub(crate) async fn revoke_refresh(
    store: &SqlStore,
    zone: &ZoneId,
    token_hash: &str,
    client_id: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT family_id FROM refresh_tokens WHERE zone_id = $1 AND token_hash = $2 AND client_id = $3",
    )
    .bind(s(zone.as_str()))
    .bind(s(token_hash))
    .bind(s(client_id))
    .fetch_optional(store.db.pool())
    .await
    .store()?;
    match row {
        Some(r) => {
            let family: String = r.try_get("family_id").store()?;
            revoke_family(store.db.pool(), zone, &family).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

pub(crate) async fn revoke_refresh_for_session(
    store: &SqlStore,
    zone: &ZoneId,
    session_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 AND session_id = $2")
        .bind(s(zone.as_str()))
        .bind(s(session_id))
        .execute(store.db.pool())
        .await
        .store()?;
    Ok(())
}

pub(crate) async fn insert_refresh_row<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    zone: &ZoneId,
    r: &RefreshRecord,
) -> Result<(), StoreError> {
    let row = vec![
        ("zone_id", zone.as_str().into()),
        ("token_hash", (&r.token_hash).into()),
        ("family_id", (&r.family_id).into()),
        ("client_id", (&r.grant.client_id).into()),
        ("user_id", (&r.grant.user_id).into()),
        ("session_id", (&r.grant.session_id).into()),
        ("token_session_id", (&r.grant.token_session_id).into()),
        ("grant_data", grant_json(&r.grant)?.into()),
        ("expires_at", r.expires_at.millis().into()),
        ("revoked", 0i64.into()),
        ("created_at", r.created_at.millis().into()),
    ];
    insert_row("refresh_tokens", row)
        .query()
        .execute(exec)
        .await
        .store()?;
    Ok(())
}

pub(crate) async fn revoke_family<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    zone: &ZoneId,
    family_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 AND family_id = $2")
        .bind(s(zone.as_str()))
        .bind(s(family_id))
        .execute(exec)
        .await
        .store()?;
    Ok(())
}

/// Whether the sessions a grant names still hold: the web session it signed in with must exist
/// and not be revoked (its natural 12-hour expiry does not end refresh: that is what refresh
/// tokens are for), and its token session must exist, be active and unexpired (each refresh
/// extends it). One query counts the sessions that hold.
pub(crate) async fn sessions_alive(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    zone: &ZoneId,
    grant: &GrantData,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (web, token) = (&grant.session_id, &grant.token_session_id);
    let wanted = i64::from(web.is_some()) + i64::from(token.is_some());
    if wanted == 0 {
        return Ok(true);
    }
    let row = sqlx::query(
        "SELECT COUNT(*) AS alive FROM sessions WHERE zone_id = $1 AND status = 'active' \
         AND ((id = $2) OR (id = $3 AND (expires_at IS NULL OR expires_at > $4)))",
    )
    .bind(s(zone.as_str()))
    .bind(web.clone())
    .bind(token.clone())
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
    .store()?;
    Ok(row.try_get::<i64, _>("alive").store()? == wanted)
}
