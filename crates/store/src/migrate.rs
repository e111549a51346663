//! Versioned migrations, one file per version per back end, embedded in the binary and applied in
//! order at start (or by `latchkey migrate`). PostgreSQL takes an advisory lock so that several
//! instances starting together migrate once.

use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;

use crate::db::{Backend, Db};
use crate::error::OrStore;

/// (version, name, SQLite SQL, PostgreSQL SQL)
pub const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "zone_directory",
        include_str!("../migrations/sqlite/0002_zone_directory.sql"),
        include_str!("../migrations/postgres/0002_zone_directory.sql"),
    ),
    (
        3,
        "zone_keys",
        include_str!("../migrations/sqlite/0003_zone_keys.sql"),
        include_str!("../migrations/postgres/0003_zone_keys.sql"),
    ),
    (
        4,
        "user_login",
        include_str!("../migrations/sqlite/0004_user_login.sql"),
        include_str!("../migrations/postgres/0004_user_login.sql"),
    ),
    (
        5,
        "invitations",
        include_str!("../migrations/sqlite/0005_invitations.sql"),
        include_str!("../migrations/postgres/0005_invitations.sql"),
    ),
    (
        6,
        "session_security",
        include_str!("../migrations/sqlite/0006_session_security.sql"),
        include_str!("../migrations/postgres/0006_session_security.sql"),
    ),
];

const PG_LOCK_ID: i64 = 0x6c61_7463_686b;

pub(crate) async fn run(db: &Db) -> Result<(), StoreError> {
    let mut conn = db.pool().acquire().await.store()?;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_LOCK_ID)
            .execute(&mut *conn)
            .await
            .store()?;
    }
    let result = apply_pending(db, &mut conn).await;
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_LOCK_ID)
            .execute(&mut *conn)
            .await
            .store()?;
    }
    result
}

async fn apply_pending(db: &Db, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .store()?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await
        .store()?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .store()?;
    for &(version, name, sqlite, postgres) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        let sql = match db.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await.store()?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.store()?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(name)
        .bind(Timestamp::now().millis())
        .execute(&mut *tx)
        .await
        .store()?;
        tx.commit().await.store()?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}
