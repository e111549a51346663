//! Versioned migrations, one file per version for both back ends (`migrations/NNNN_name.sql`,
//! written for PostgreSQL; SQLite runs the same text with its three type spellings swapped in by
//! [`sqlite_dialect`]; blocks marked `postgres-only` or `sqlite-only` run on that back end alone,
//! see [`for_postgres`]), embedded in the binary and applied in order at start (or by `latchkey
//! migrate`). PostgreSQL takes an advisory lock so that several instances starting together
//! migrate once. A database that records a version this build does not know (made by a newer
//! latchkey) is refused rather than used. The store test-suite runs every migration on both back
//! ends.

use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;

use crate::db::{Backend, Db};
use crate::error::OrStore;

/// (version, name, SQL as written for PostgreSQL; SQLite runs [`sqlite_dialect`] of it)
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "zone_directory",
        include_str!("../migrations/0002_zone_directory.sql"),
    ),
    (
        3,
        "zone_keys",
        include_str!("../migrations/0003_zone_keys.sql"),
    ),
    (
        4,
        "user_login",
        include_str!("../migrations/0004_user_login.sql"),
    ),
    (
        5,
        "invitations",
        include_str!("../migrations/0005_invitations.sql"),
    ),
    (
        6,
        "session_security",
        include_str!("../migrations/0006_session_security.sql"),
    ),
    (
        7,
        "policies",
        include_str!("../migrations/0007_policies.sql"),
    ),
    (
        8,
        "policy_decisions",
        include_str!("../migrations/0008_policy_decisions.sql"),
    ),
    (
        9,
        "decision_tallies",
        include_str!("../migrations/0009_decision_tallies.sql"),
    ),
    (
        10,
        "members",
        include_str!("../migrations/0010_members.sql"),
    ),
    (
        11,
        "sso_connections",
        include_str!("../migrations/0011_sso_connections.sql"),
    ),
    (
        12,
        "audit_events",
        include_str!("../migrations/0012_audit_events.sql"),
    ),
    (
        13,
        "device_authorizations",
        include_str!("../migrations/0013_device_authorizations.sql"),
    ),
    (
        14,
        "cluster",
        include_str!("../migrations/0014_cluster.sql"),
    ),
    (
        15,
        "list_indexes",
        include_str!("../migrations/0015_list_indexes.sql"),
    ),
    (
        16,
        "row_counts",
        include_str!("../migrations/0016_row_counts.sql"),
    ),
    (
        17,
        "zone_changes",
        include_str!("../migrations/0017_zone_changes.sql"),
    ),
];

const PG_ONLY: (&str, &str) = ("-- postgres-only:begin", "-- postgres-only:end");
const SQLITE_ONLY: (&str, &str) = ("-- sqlite-only:begin", "-- sqlite-only:end");

const PG_LOCK_ID: i64 = 0x6c61_7463_686b;

/// The newest migration version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Why a database whose schema is `applied` cannot be used by this build.
pub(crate) fn too_new(applied: i64) -> String {
    format!(
        "the database schema is at version {applied}, newer than this build of latchkey knows \
         ({}): run the latchkey version that migrated it, or restore a backup made with this one",
        latest()
    )
}

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
    if let Some(&newest) = applied.iter().max()
        && newest > latest()
    {
        return Err(StoreError::Backend(too_new(newest)));
    }
    for &(version, name, source) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        let sql = match db.backend() {
            Backend::Sqlite => sqlite_dialect(source),
            Backend::Postgres => for_postgres(source),
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await.store()?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .store()?;
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

/// The SQLite spelling of a migration: 64-bit integers are `INTEGER`, byte strings `BLOB`, and
/// text compares bytewise by default (PostgreSQL needs `COLLATE "C"` for that); lines between
/// `-- postgres-only:begin` and `-- postgres-only:end` (extensions, `DO` blocks, functions) are
/// left out. Migrations use nothing else that differs between the two.
pub fn sqlite_dialect(postgres: &str) -> String {
    without_block(postgres, PG_ONLY)
        .replace("BIGINT", "INTEGER")
        .replace("BYTEA", "BLOB")
        .replace(" COLLATE \"C\"", "")
}

/// A migration as PostgreSQL runs it: lines between `-- sqlite-only:begin` and
/// `-- sqlite-only:end` (triggers in SQLite's syntax, FTS5 tables) are left out.
pub fn for_postgres(source: &str) -> String {
    without_block(source, SQLITE_ONLY)
}

/// `source` without the lines between the `(begin, end)` markers, markers included.
fn without_block(source: &str, (begin, end): (&str, &str)) -> String {
    let mut kept = String::with_capacity(source.len());
    let mut skipping = false;
    for line in source.lines() {
        match line.trim() {
            l if l == begin => skipping = true,
            l if l == end => skipping = false,
            _ if !skipping => {
                kept.push_str(line);
                kept.push('\n');
            }
            _ => {}
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::{MIGRATIONS, for_postgres, sqlite_dialect};

    #[test]
    fn versions_ascend_and_files_are_not_empty() {
        let mut previous = 0;
        for (version, name, sql) in MIGRATIONS {
            assert!(*version > previous, "{name}: versions must ascend");
            previous = *version;
            assert!(!sql.trim().is_empty(), "{name}");
        }
    }

    #[test]
    fn postgres_only_blocks_stay_out_of_sqlite() {
        let lite = sqlite_dialect(
            "CREATE TABLE a (x BIGINT);\n-- postgres-only:begin\nDO $$ BEGIN END $$;\n-- postgres-only:end\nCREATE INDEX b ON a (x);\n",
        );
        assert_eq!(
            lite,
            "CREATE TABLE a (x INTEGER);\nCREATE INDEX b ON a (x);\n"
        );
    }

    #[test]
    fn sqlite_only_blocks_stay_out_of_postgres() {
        let pg = for_postgres(
            "CREATE TABLE a (x BIGINT);\n-- sqlite-only:begin\nCREATE VIRTUAL TABLE s USING fts5(x);\n-- sqlite-only:end\n",
        );
        assert_eq!(pg, "CREATE TABLE a (x BIGINT);\n");
        for (_, name, sql) in MIGRATIONS {
            let pg = for_postgres(sql).to_uppercase();
            for sqlite_only in ["FTS5", "VIRTUAL TABLE", "AUTOINCREMENT"] {
                assert!(
                    !pg.contains(sqlite_only),
                    "{name}: `{sqlite_only}` would reach PostgreSQL"
                );
            }
        }
    }

    #[test]
    fn the_sqlite_dialect_has_no_postgres_only_spelling() {
        for (_, name, sql) in MIGRATIONS {
            let lite = sqlite_dialect(sql).to_uppercase();
            for pg_only in [
                "BIGINT",
                "BYTEA",
                "COLLATE",
                "SERIAL",
                "JSONB",
                "TIMESTAMPTZ",
                "::",
                "EXTENSION",
                "$$",
            ] {
                assert!(
                    !lite.contains(pg_only),
                    "{name}: `{pg_only}` would reach SQLite"
                );
            }
        }
    }
}
