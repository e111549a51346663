//! `latchkey backup`: an online backup of the embedded SQLite database (`VACUUM INTO`, a
//! consistent snapshot taken while the server runs) plus a copy of the master key file beside it;
//! for PostgreSQL it prints the `pg_dump` procedure and fails.

use std::path::{Path, PathBuf};

use latchkey_domain::store::Store;
use latchkey_store::SqlStore;

use crate::config::BackupConfig;
use crate::service::bootstrap::BootstrapError;

/// What to do instead on PostgreSQL.
pub const POSTGRES_PROCEDURE: &str = "\
`latchkey backup` backs up the embedded SQLite database only. For PostgreSQL use its own tools:
  1. pg_dump --format=custom --file=latchkey.dump \"$LATCHKEY_DATABASE_URL\"
     (consistent while the server runs)
  2. keep the master key with the dump: <data-dir>/master.key, or the value of LATCHKEY_MASTER_KEY
To restore: stop every latchkey server, then
  pg_restore --clean --if-exists --no-owner --dbname=\"$LATCHKEY_DATABASE_URL\" latchkey.dump
and start the server with the same master key. See docs/operations.md, \"Backup and restore\".";

/// The master key file kept beside a backup `file`.
pub fn master_key_beside(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".master.key");
    PathBuf::from(name)
}

/// Runs `latchkey backup`.
pub async fn backup(config: BackupConfig) -> Result<(), BootstrapError> {
    let url = config.storage.database_url();
    if !url.starts_with("sqlite:") {
        return Err(BootstrapError::Invalid(POSTGRES_PROCEDURE.into()));
    }
    let database = latchkey_store::in_use::database_file(&url).ok_or_else(|| {
        BootstrapError::Invalid("an in-memory database cannot be backed up".into())
    })?;
    if !database.is_file() {
        return Err(BootstrapError::Invalid(format!(
            "there is no database at {}: nothing to back up",
            database.display()
        )));
    }
    let store = SqlStore::connect_unmigrated(&url).await?;
    let result = async {
        let version = store.schema_version().await?;
        store
            .backup_sqlite(&config.out)
            .await
            .map_err(|e| BootstrapError::Io(format!("backup failed: {e}")))?;
        Ok::<_, BootstrapError>(version.applied)
    }
    .await;
    store.close().await;
    let version = result?;
    println!(
        "backed up {} (schema version {version}) to {}",
        database.display(),
        config.out.display()
    );
    if config.key.master_key.is_some() {
        println!(
            "master key: given by --master-key / LATCHKEY_MASTER_KEY, so not written: keep that key with the backup"
        );
        return Ok(());
    }
    let key_file = config.storage.data_dir.join("master.key");
    let beside = master_key_beside(&config.out);
    let text = std::fs::read(&key_file).map_err(|e| {
        BootstrapError::Io(format!(
            "the database is backed up, but the master key {} could not be read ({e}): \
             keep the master key with the backup yourself",
            key_file.display()
        ))
    })?;
    write_private(&beside, &text)?;
    println!(
        "master key: copied to {} (mode 0600); keep both files together and private: restoring needs both",
        beside.display()
    );
    Ok(())
}

/// Writes a new file of mode 0600 (refusing to overwrite one).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), BootstrapError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
        .map_err(|e| BootstrapError::Io(format!("writing {}: {e}", path.display())))
}
