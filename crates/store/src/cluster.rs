//! Shared state for several instances on one database: the change feed (PostgreSQL
//! `LISTEN/NOTIFY` on one channel; SQLite has one process and no feed), job leases, and the
//! security throttles' counters.

use async_trait::async_trait;
use latchkey_domain::id::ZoneId;
use latchkey_domain::store::{ChangeFeed, ClusterStore, PoolStats, ThrottleRecord, ThrottleStep};
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;
use sqlx::postgres::PgListener;

use crate::SqlStore;
use crate::db::{Backend, now_millis};
use crate::error::OrStore;

/// The tables whose every insert, update and delete marks its zone in `zone_changes` (triggers
/// of migration 0017): every table a zone cache reads, except users (see `oauth::change_poll`).
pub const MARKED_TABLES: &[&str] = &[
    "zones",
    "applications",
    "application_credentials",
    "resources",
    "providers",
    "application_dependencies",
    "dependency_conditions",
    "signing_keys",
];

/// The one channel every instance listens on.
const CHANNEL: &str = "latchkey_changes";
/// PostgreSQL's limit on a notice's payload.
const MAX_NOTICE: usize = 7_999;

struct PgFeed {
    listener: PgListener,
}

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn next(&mut self) -> Result<Option<String>, StoreError> {
        // `try_recv` answers `None` once after the connection was lost; the next call
        // reconnects and listens again.
        match self.listener.try_recv().await.store()? {
            Some(n) => Ok(Some(n.payload().to_owned())),
            None => Ok(None),
        }
    }
}

fn ms(t: Option<i64>) -> Option<Timestamp> {
    t.map(Timestamp::from_millis)
}

#[async_trait]
impl ClusterStore for SqlStore {
    fn pool_stats(&self) -> PoolStats {
        let pool = self.db.pool();
        PoolStats {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }

    fn has_change_feed(&self) -> bool {
        self.db.backend() == Backend::Postgres
    }

    async fn publish_change(&self, notice: &str) -> Result<(), StoreError> {
        if !self.has_change_feed() || notice.len() > MAX_NOTICE {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2) IS NULL AS sent")
            .bind(CHANNEL)
            .bind(notice.to_owned())
            .fetch_one(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        if !self.has_change_feed() {
            return Ok(None);
        }
        let mut listener = PgListener::connect(self.db.url()).await.store()?;
        listener.listen(CHANNEL).await.store()?;
        Ok(Some(Box::new(PgFeed { listener })))
    }

    async fn recent_zone_changes(&self, within_ms: i64) -> Result<Vec<(ZoneId, i64)>, StoreError> {
        let sql = match self.db.backend() {
            Backend::Postgres => concat!(
                "SELECT zone_id, seq FROM zone_changes WHERE changed_at > ",
                now_millis!(Postgres),
                " - $1"
            ),
            Backend::Sqlite => concat!(
                "SELECT zone_id, seq FROM zone_changes WHERE changed_at > ",
                now_millis!(Sqlite),
                " - $1"
            ),
        };
        let rows = sqlx::query(sql)
            .bind(within_ms)
            .fetch_all(self.db.pool())
            .await
            .store()?;
        rows.iter()
            .map(|r| {
                Ok((
                    ZoneId::new(r.try_get::<String, _>("zone_id").store()?),
                    r.try_get("seq").store()?,
                ))
            })
            .collect()
    }

    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO job_leases (job, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE job_leases.until_ms <= $4 OR job_leases.holder = excluded.holder",
        )
        .bind(job.to_owned())
        .bind(holder.to_owned())
        .bind(until.millis())
        .bind(now.millis())
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(done.rows_affected() > 0)
    }

    async fn throttle_get(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<ThrottleRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT failures, since_ms, locked_until FROM throttles WHERE scope = $1 AND key = $2",
        )
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .fetch_optional(self.db.pool())
        .await
        .store()?;
        row.map(|r| record(&r)).transpose()
    }

    async fn throttle_update(
        &self,
        scope: &str,
        key: &str,
        step: &ThrottleStep,
    ) -> Result<ThrottleRecord, StoreError> {
        let mut w = self.db.write().await?;
        self.db
            .lock_scope(&mut w.tx, &format!("throttle:{scope}:{key}"))
            .await?;
        let row = sqlx::query(
            "SELECT failures, since_ms, locked_until FROM throttles WHERE scope = $1 AND key = $2",
        )
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&mut *w.tx)
        .await
        .store()?;
        let next = step(row.map(|r| record(&r)).transpose()?);
        sqlx::query(
            "INSERT INTO throttles (scope, key, failures, since_ms, locked_until, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, key) DO UPDATE SET \
             failures = excluded.failures, since_ms = excluded.since_ms, \
             locked_until = excluded.locked_until, updated_at = excluded.updated_at",
        )
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .bind(i64::from(next.failures))
        .bind(next.since.map(Timestamp::millis))
        .bind(next.locked_until.map(Timestamp::millis))
        .bind(Timestamp::now().millis())
        .execute(&mut *w.tx)
        .await
        .store()?;
        w.commit().await?;
        Ok(next)
    }

    async fn throttle_clear(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttles WHERE scope = $1 AND key = $2")
            .bind(scope.to_owned())
            .bind(key.to_owned())
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn purge_throttles(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM throttles WHERE updated_at < $1 \
             AND (locked_until IS NULL OR locked_until < $1)",
        )
        .bind(before.millis())
        .execute(self.db.pool())
        .await
        .store()?;
        Ok(done.rows_affected())
    }
}

fn record(r: &sqlx::any::AnyRow) -> Result<ThrottleRecord, StoreError> {
    let failures: i64 = r.try_get("failures").store()?;
    Ok(ThrottleRecord {
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        since: ms(r.try_get("since_ms").store()?),
        locked_until: ms(r.try_get("locked_until").store()?),
    })
}
