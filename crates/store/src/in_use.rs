//! Whether a SQLite database file is in use: every process that opens it holds a shared lock on
//! `<file>.lock` (an advisory file lock, released with the process), and `latchkey restore`
//! replaces the file only under an exclusive one, so it never swaps a database under a running
//! server (and a server does not open a file being restored).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use latchkey_domain::StoreError;
use sqlx::sqlite::SqliteConnectOptions;

/// The file of a `sqlite:` URL, unless it names an in-memory database.
pub fn database_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let (_, params) = url.split_once('?').unwrap_or((url, ""));
    if params.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    let name = file.to_string_lossy();
    (!name.is_empty() && name != ":memory:" && !name.starts_with("file:sqlx-in-memory"))
        .then(|| file.to_path_buf())
}

/// The lock file of a database file.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock(database: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(lock_path(database))
}

/// Takes the shared "in use" lock of the database a `sqlite:` URL names (None for in-memory
/// databases, read-only opens, or when the lock file cannot be made: the lock is advisory).
pub(crate) fn share(url: &str) -> Result<Option<File>, StoreError> {
    if url.contains("mode=ro") {
        return Ok(None);
    }
    let Some(database) = database_file(url) else {
        return Ok(None);
    };
    let file = match open_lock(&database) {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(error = %e, "no in-use lock beside the SQLite database");
            return Ok(None);
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(StoreError::Backend(format!(
            "{} is being restored (`latchkey restore` holds {})",
            database.display(),
            lock_path(&database).display()
        ))),
        Err(TryLockError::Error(e)) => {
            tracing::debug!(error = %e, "no in-use lock beside the SQLite database");
            Ok(None)
        }
    }
}

/// Takes the exclusive lock of `database`, or says that a process has it open.
pub(crate) fn exclusive(database: &Path) -> Result<File, String> {
    let file = open_lock(database)
        .map_err(|e| format!("cannot open {}: {e}", lock_path(database).display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(format!(
            "{} is in use: stop the server (and any other latchkey command) using it first",
            database.display()
        )),
        Err(TryLockError::Error(e)) => Err(format!(
            "cannot lock {}: {e}",
            lock_path(database).display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::database_file;

    #[test]
    fn only_files_have_a_lock() {
        let file = |u: &str| database_file(u).map(|p| p.display().to_string());
        assert_eq!(
            file("sqlite:///tmp/a.db?mode=rwc").as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(
            file("sqlite://data/a%20b.db").as_deref(),
            Some("data/a b.db")
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://a.db?mode=memory"), None);
        assert_eq!(file("postgres://localhost/x"), None);
    }
}
