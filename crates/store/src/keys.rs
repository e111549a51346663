//! Zone signing keys and the client-assertion replay cache.

use async_trait::async_trait;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::keys::{KeyStatus, StoredKey};
use latchkey_domain::store::KeyStore;
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{Arg, get_json, insert_row, opt_ts, parsed, ts};

const COLUMNS: &str =
    "zone_id, kid, alg, status, private_key, public_jwk, created_at, activated_at, retire_at";

fn from_row(row: &AnyRow) -> Result<StoredKey, sqlx::Error> {
    Ok(StoredKey {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        status: parsed(row, "status", KeyStatus::parse)?,
        private_key: row.try_get("private_key")?,
        public_jwk: get_json(row, "public_jwk")?.unwrap_or_default(),
        created_at: ts(row, "created_at")?,
        activated_at: opt_ts(row, "activated_at")?,
        retire_at: opt_ts(row, "retire_at")?,
    })
}

pub(crate) async fn insert(tx: &mut sqlx::AnyConnection, k: &StoredKey) -> Result<(), StoreError> {
    let row = vec![
        ("zone_id", k.zone_id.as_str().into()),
        ("kid", (&k.kid).into()),
        ("alg", (&k.alg).into()),
        ("status", k.status.as_str().into()),
        ("private_key", Arg::Bytes(Some(k.private_key.clone()))),
        ("public_jwk", k.public_jwk.to_string().into()),
        ("created_at", k.created_at.millis().into()),
        ("activated_at", k.activated_at.map(Timestamp::millis).into()),
        ("retire_at", k.retire_at.map(Timestamp::millis).into()),
    ];
    insert_row("signing_keys", row)
        .query()
        .execute(&mut *tx)
        .await
        .store()?;
    Ok(())
}

async fn exec(
    tx: &mut sqlx::AnyConnection,
    sql: &'static str,
    zone: &ZoneId,
    n: Option<i64>,
    m: Option<i64>,
) -> Result<(), StoreError> {
    let mut q = sqlx::query(sql).bind(zone.as_str().to_owned());
    if let Some(n) = n {
        q = q.bind(n);
    }
    if let Some(m) = m {
        q = q.bind(m);
    }
    q.execute(&mut *tx).await.store()?;
    Ok(())
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn list_keys(&self, zone: &ZoneId, now: Timestamp) -> Result<Vec<StoredKey>, StoreError> {
        // (a zone's first current and next keys share their creation time: their stage orders them)
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE zone_id = $1 AND (retire_at IS NULL OR retire_at > $2) \
             ORDER BY created_at, \
             CASE status WHEN 'previous' THEN 0 WHEN 'current' THEN 1 WHEN 'next' THEN 2 ELSE 3 END, kid"
        )))
        .bind(zone.as_str().to_owned())
        .bind(now.millis())
        .fetch_all(self.db.pool())
        .await
        .store()?;
        rows.iter().map(from_row).collect::<Result<_, _>>().store()
    }

    async fn init_keys(
        &self,
        zone: &ZoneId,
        current: &StoredKey,
        next: &StoredKey,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        self.db
            .lock_scope(&mut w.tx, &format!("signing_keys:{zone}"))
            .await?;
        let existing = sqlx::query("SELECT COUNT(*) AS n FROM signing_keys WHERE zone_id = $1")
            .bind(zone.as_str().to_owned())
            .fetch_one(&mut *w.tx)
            .await
            .store()?;
        if existing.try_get::<i64, _>("n").store()? > 0 {
            return Ok(false);
        }
        insert(&mut w.tx, current).await?;
        insert(&mut w.tx, next).await?;
        w.commit().await?;
        Ok(true)
    }

    async fn rotate_keys(
        &self,
        zone: &ZoneId,
        new_next: &StoredKey,
        retire_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        self.db
            .lock_scope(&mut w.tx, &format!("signing_keys:{zone}"))
            .await?;
        let t = &mut w.tx;
        exec(t, "DELETE FROM signing_keys WHERE zone_id = $1 AND retire_at IS NOT NULL AND retire_at <= $2", zone, Some(now.millis()), None).await?;
        exec(t, "UPDATE signing_keys SET status = 'previous', retire_at = $2 WHERE zone_id = $1 AND status = 'current'", zone, Some(retire_at.millis()), None).await?;
        exec(t, "UPDATE signing_keys SET status = 'current', activated_at = $2 WHERE zone_id = $1 AND status = 'next'", zone, Some(now.millis()), None).await?;
        insert(t, new_next).await?;
        w.commit().await
    }

    async fn replace_next_key(&self, zone: &ZoneId, next: &StoredKey) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        self.db
            .lock_scope(&mut w.tx, &format!("signing_keys:{zone}"))
            .await?;
        exec(
            &mut w.tx,
            "DELETE FROM signing_keys WHERE zone_id = $1 AND status = 'next'",
            zone,
            None,
            None,
        )
        .await?;
        insert(&mut w.tx, next).await?;
        w.commit().await
    }

    async fn zones_due_for_rotation(&self, before: Timestamp) -> Result<Vec<ZoneId>, StoreError> {
        let rows = sqlx::query(
            "SELECT zone_id FROM signing_keys WHERE status = 'current' AND activated_at < $1",
        )
        .bind(before.millis())
        .fetch_all(self.db.pool())
        .await
        .store()?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("zone_id").map(ZoneId::new))
            .collect::<Result<_, _>>()
            .store()
    }

    async fn remember_jti(
        &self,
        zone: &ZoneId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        sqlx::query("DELETE FROM assertion_jtis WHERE expires_at < $1")
            .bind(now.millis())
            .execute(&mut *w.tx)
            .await
            .store()?;
        let done = sqlx::query("INSERT INTO assertion_jtis (zone_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(zone.as_str().to_owned())
            .bind(jti.to_owned())
            .bind(expires_at.millis())
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
