//! Operating the database: the schema version (readiness), the database's clock (`doctor`), an
//! online backup of a live SQLite database (`VACUUM INTO`: a consistent snapshot, safe while the
//! server writes) and the restore of one: checked to be a Latchkey database of a known schema
//! version, staged beside the database, then renamed over it under the exclusive "in use" lock
//! (`in_use`), keeping the previous file as `<database>.pre-restore`.

use std::path::{Path, PathBuf};

use latchkey_domain::store::SchemaVersion;
use latchkey_domain::{StoreError, Timestamp};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use crate::db::{Backend, Db, now_millis};
use crate::error::OrStore;
use crate::{SqlStore, in_use, migrate};

/// Why a backup or a restore was refused.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// The operation exists for SQLite only (PostgreSQL has its own tools).
    #[error("this works on the embedded SQLite database only")]
    NotSqlite,
    /// The database is open in another process.
    #[error("{0}")]
    InUse(String),
    /// The file is not a usable Latchkey database.
    #[error("{path} is not a Latchkey database this version can restore: {reason}")]
    NotLatchkey { path: String, reason: String },
    /// The caller's own check of the backup failed (e.g. the master key does not match it).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a restored (or inspected) backup holds.
#[derive(Debug, Clone)]
pub struct BackupInfo {
    /// Its schema version.
    pub version: i64,
    /// The check value of the master key it was made with (`server_meta`), if any.
    pub key_check: Option<String>,
}

/// The outcome of a restore.
#[derive(Debug, Clone)]
pub struct Restored {
    pub info: BackupInfo,
    pub database: PathBuf,
    /// Where the database that was replaced is kept, if there was one.
    pub previous: Option<PathBuf>,
}

pub(crate) async fn schema_version(db: &Db) -> Result<SchemaVersion, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(db.pool())
        .await
        .store()?;
    Ok(SchemaVersion {
        applied: row.try_get::<i64, _>("v").store()?,
        known: migrate::latest(),
    })
}

fn io(what: &str, path: &Path, e: std::io::Error) -> MaintenanceError {
    MaintenanceError::Io(format!("{what} {}: {e}", path.display()))
}

impl SqlStore {
    /// Connects without running migrations: for the commands that must not change the database
    /// (`backup`, `doctor`). Only the methods of this module are meant for such a store.
    pub async fn connect_unmigrated(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::connect(url).await?,
        })
    }

    /// The database server's clock (for SQLite, this machine's).
    pub async fn database_time(&self) -> Result<Timestamp, StoreError> {
        let sql = match self.db.backend() {
            Backend::Sqlite => concat!("SELECT ", now_millis!(Sqlite), " AS now"),
            Backend::Postgres => concat!("SELECT ", now_millis!(Postgres), " AS now"),
        };
        let row = sqlx::query(sql).fetch_one(self.db.pool()).await.store()?;
        Ok(Timestamp::from_millis(
            row.try_get::<i64, _>("now").store()?,
        ))
    }

    /// Writes a consistent snapshot of the (SQLite) database to `out`, a new file of mode 0600.
    pub async fn backup_sqlite(&self, out: &Path) -> Result<(), MaintenanceError> {
        if self.db.backend() != Backend::Sqlite {
            return Err(MaintenanceError::NotSqlite);
        }
        create_private(out)?;
        let target = out.to_string_lossy().into_owned();
        let done = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.db.pool())
            .await;
        if let Err(e) = done {
            let _ = std::fs::remove_file(out);
            return Err(MaintenanceError::Store(crate::error::map(e)));
        }
        std::fs::File::open(out)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("syncing", out, e))
    }
}

/// Creates `path` empty with mode 0600, refusing to overwrite anything.
fn create_private(path: &Path) -> Result<std::fs::File, MaintenanceError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            MaintenanceError::Io(format!(
                "{} already exists: choose a new file name",
                path.display()
            ))
        } else {
            io("creating", path, e)
        }
    })
}

/// Checks that the SQLite file `path` (a copy of `shown`) is a sound Latchkey database of a
/// version this build knows. Opens it read-write: call it on a copy.
async fn inspect(path: &Path, shown: &Path) -> Result<BackupInfo, MaintenanceError> {
    let not = |reason: String| MaintenanceError::NotLatchkey {
        path: shown.display().to_string(),
        reason,
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(|e| not(e.to_string()))?;
    let checked = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not(e.to_string()))?;
        if check != "ok" {
            return Err(not(format!("integrity check: {check}")));
        }
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| not("it has no schema_migrations table".into()))?;
        let version = version.unwrap_or(0);
        if version < 1 {
            return Err(not("no migration is recorded".into()));
        }
        if version > migrate::latest() {
            return Err(not(migrate::too_new(version)));
        }
        if version >= crate::sql::SEARCH_INDEXES_SINCE {
            rebuild_search_indexes(&mut conn)
                .await
                .map_err(|e| not(e.to_string()))?;
        }
        let key_check: Option<String> =
            sqlx::query_scalar("SELECT value FROM server_meta WHERE key = 'master_key_check'")
                .fetch_optional(&mut conn)
                .await
                .map_err(|_| not("it has no server_meta table".into()))?;
        // Fold any WAL into the file, so the rename below moves everything.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map_err(|e| not(e.to_string()))?;
        Ok(BackupInfo { version, key_check })
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// Rebuilds the trigram search indexes from their tables. They are keyed by `rowid`, which
/// SQLite does not promise to keep across `VACUUM INTO` for tables without an integer primary
/// key, so a restored copy gets fresh ones.
async fn rebuild_search_indexes(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    for (_, index) in crate::sql::SEARCH_INDEXES {
        let rebuild = format!("INSERT INTO {index} ({index}) VALUES ('rebuild')");
        sqlx::query(sqlx::AssertSqlSafe(rebuild))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Replaces the SQLite database of `url` with the backup `from`, after `accept` approved it (for
/// instance, that the master key matches). Refused while any process has the database open.
pub async fn restore_sqlite(
    from: &Path,
    url: &str,
    accept: impl FnOnce(&BackupInfo) -> Result<(), String>,
) -> Result<Restored, MaintenanceError> {
    if !url.starts_with("sqlite:") {
        return Err(MaintenanceError::NotSqlite);
    }
    let database = in_use::database_file(url).ok_or(MaintenanceError::NotSqlite)?;
    if !from.is_file() {
        return Err(MaintenanceError::Io(format!(
            "{} is not a file",
            from.display()
        )));
    }
    let _lock = in_use::exclusive(&database).map_err(MaintenanceError::InUse)?;
    let staged = with_suffix(&database, ".restoring");
    let _ = std::fs::remove_file(&staged);
    let mut out = create_private(&staged)?;
    let copied = std::fs::File::open(from)
        .and_then(|mut src| std::io::copy(&mut src, &mut out))
        .and_then(|_| out.sync_all());
    drop(out);
    let result = match copied {
        Ok(()) => match inspect(&staged, from).await {
            Ok(info) => accept(&info)
                .map(|()| info)
                .map_err(MaintenanceError::Refused),
            Err(e) => Err(e),
        },
        Err(e) => Err(io("copying", from, e)),
    };
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(&staged, suffix));
            }
            return Err(e);
        }
    };
    let previous = keep_previous(&database)?;
    std::fs::rename(&staged, &database).map_err(|e| io("replacing", &database, e))?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(Restored {
        info,
        database,
        previous,
    })
}

/// Keeps the current database (and its WAL, which belongs to it) as `<database>.pre-restore`,
/// leaving the database itself in place until the rename replaces it.
fn keep_previous(database: &Path) -> Result<Option<PathBuf>, MaintenanceError> {
    if !database.exists() {
        return Ok(None);
    }
    let kept = with_suffix(database, ".pre-restore");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&kept, suffix));
    }
    if std::fs::hard_link(database, &kept).is_err() {
        std::fs::copy(database, &kept).map_err(|e| io("keeping", database, e))?;
    }
    let wal = with_suffix(database, "-wal");
    if wal.exists() {
        std::fs::rename(&wal, with_suffix(&kept, "-wal")).map_err(|e| io("moving", &wal, e))?;
    }
    let _ = std::fs::remove_file(with_suffix(database, "-shm"));
    Ok(Some(kept))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
