//! Pending authorization requests: what a browser flow keeps while the user signs in, and what a
//! client pushed (RFC 9126), by zone and id, until they expire. `take` spends one atomically.

use latchkey_domain::id::ZoneId;
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;

use crate::SqlStore;
use crate::error::OrStore;
use crate::grant_rows::s;
use crate::sql::insert_row;

pub(crate) async fn put(
    store: &SqlStore,
    zone: &ZoneId,
    id: &str,
    params: &str,
    csrf: &str,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    let now = Timestamp::now().millis();
    let row = vec![
        ("zone_id", zone.as_str().into()),
        ("id", id.into()),
        ("params", params.into()),
        ("csrf", csrf.into()),
        ("expires_at", expires_at.millis().into()),
        ("created_at", now.into()),
    ];
    insert_row("authorization_requests", row)
        .query()
        .execute(store.db.pool())
        .await
        .store()?;
    Ok(())
}

pub(crate) async fn get(
    store: &SqlStore,
    zone: &ZoneId,
    id: &str,
    now: Timestamp,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query("SELECT params, csrf FROM authorization_requests WHERE zone_id = $1 AND id = $2 AND expires_at > $3")
        .bind(s(zone.as_str()))
        .bind(s(id))
        .bind(now.millis())
        .fetch_optional(store.db.pool())
        .await
        .store()?;
    row.map(|r| Ok((r.try_get("params")?, r.try_get("csrf")?)))
        .transpose()
        .store()
}

pub(crate) async fn delete(store: &SqlStore, zone: &ZoneId, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM authorization_requests WHERE zone_id = $1 AND id = $2")
        .bind(s(zone.as_str()))
        .bind(s(id))
        .execute(store.db.pool())
        .await
        .store()?;
    Ok(())
}

pub(crate) async fn take(
    store: &SqlStore,
    zone: &ZoneId,
    id: &str,
    now: Timestamp,
) -> Result<Option<(String, String)>, StoreError> {
    let mut w = store.db.write().await?;
    let row = sqlx::query(
        "DELETE FROM authorization_requests WHERE zone_id = $1 AND id = $2 AND expires_at > $3 \
         RETURNING params, csrf",
    )
    .bind(s(zone.as_str()))
    .bind(s(id))
    .bind(now.millis())
    .fetch_optional(&mut *w.tx)
    .await
    .store()?;
    w.commit().await?;
    row.map(|r| Ok((r.try_get("params")?, r.try_get("csrf")?)))
        .transpose()
        .store()
}
