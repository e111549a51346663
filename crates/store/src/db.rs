//! The connection pool and the little that differs between SQLite and PostgreSQL at run time:
//! connection set-up (WAL, foreign keys, busy timeout), writer serialisation for SQLite, the
//! "in use" lock of a SQLite file (`in_use`), and a clean close.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::OrStore;

/// The database's clock, in milliseconds since the epoch, as an SQL expression for the back end
/// named (`Sqlite`: this machine's clock). A macro so that statements built with `concat!`
/// stay `&'static str`.
macro_rules! now_millis {
    (Sqlite) => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
    (Postgres) => {
        "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    };
}
pub(crate) use now_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; taking this before a write transaction avoids the deadlock of
    /// two deferred transactions both upgrading to write.
    writer: Arc<Mutex<()>>,
    /// The URL, for connections outside the pool (PostgreSQL's change feed).
    url: Redacted,
    /// A shared lock on `<database file>.lock` while a SQLite file is open, so that
    /// `latchkey restore` can tell that a server still uses it (released when the last clone
    /// drops, or with the process).
    _in_use: Option<Arc<std::fs::File>>,
}

/// A database URL that never appears in debug output (it may hold a password).
#[derive(Clone)]
struct Redacted(Arc<str>);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<database url>")
    }
}

/// A write transaction, holding the SQLite writer lock for its lifetime.
pub(crate) struct WriteTx<'a> {
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.store()
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Backend(
                "database URL must start with `sqlite:` or `postgres://`".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url).store()?;
        let in_use = match backend {
            Backend::Sqlite => crate::in_use::share(url)?,
            Backend::Postgres => None,
        };
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
            }
        }
        .store()?;
        Ok(Self {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
            url: Redacted(url.into()),
            _in_use: in_use.map(Arc::new),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn url(&self) -> &str {
        &self.url.0
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that will write.
    pub(crate) async fn write(&self) -> Result<WriteTx<'_>, StoreError> {
        let started = std::time::Instant::now();
        let (guard, tx) = match self.backend {
            // IMMEDIATE takes SQLite's write lock up front (waiting under busy_timeout), so a
            // transaction that reads before it writes is never refused with SQLITE_BUSY by a
            // concurrent autocommit write that committed after its snapshot.
            Backend::Sqlite => (
                Some(self.writer.lock().await),
                self.pool.begin_with("BEGIN IMMEDIATE").await.store()?,
            ),
            Backend::Postgres => (None, self.pool.begin().await.store()?),
        };
        // Waiting for a connection (and, on SQLite, the writer's turn).
        metrics::histogram!("latchkey_db_acquire_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Serialises, until the transaction ends, every writer that takes the same `key`.
    /// SQLite writers are already serialised; PostgreSQL takes a transaction advisory lock.
    pub(crate) async fn lock_scope(
        &self,
        tx: &mut sqlx::AnyConnection,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1)) IS NULL AS locked")
                .bind(key.to_owned())
                .fetch_one(&mut *tx)
                .await
                .store()?;
        }
        Ok(())
    }

    /// Closes the pool; for SQLite, folds the WAL back into the main file first.
    pub async fn close(&self) {
        if self.backend == Backend::Sqlite
            && let Err(e) = sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
        {
            tracing::warn!(error = %e, "WAL checkpoint on close failed");
        }
        self.pool.close().await;
    }
}
