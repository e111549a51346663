//! `latchkey doctor`: checks a deployment with the settings `serve` would use (same flags and
//! environment) and prints one line per check, `OK`, `WARN` or `FAIL`; fails when any check does.
//! It never changes anything: the database is opened without migrating, and a missing database
//! or master key (a fresh install) is a warning, created at first start.

use std::path::Path;
use std::time::Duration;

use latchkey_crypto::MasterKey;
use latchkey_domain::Timestamp;
use latchkey_domain::store::{MetaStore, Store};
use latchkey_store::SqlStore;

use crate::config::ServeConfig;
use crate::service::bootstrap::{BootstrapError, META_KEY_CHECK};

mod flags;

use flags::{metrics, private_fetch, public_url};

/// Larger clock differences with the database are reported.
const MAX_SKEW_MS: i64 = 5_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One check's outcome.
#[derive(Debug)]
pub struct Finding {
    pub level: Level,
    pub check: &'static str,
    pub detail: String,
}

fn finding(level: Level, check: &'static str, detail: impl Into<String>) -> Finding {
    Finding {
        level,
        check,
        detail: detail.into(),
    }
}

/// Runs `latchkey doctor`: prints the findings; an error when any failed.
pub async fn doctor(config: ServeConfig) -> Result<(), BootstrapError> {
    let findings = run(&config).await;
    for f in &findings {
        let level = match f.level {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        println!("{level:<4}  {}: {}", f.check, f.detail);
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    if failed > 0 {
        return Err(BootstrapError::Invalid(format!(
            "doctor: {failed} check(s) failed"
        )));
    }
    Ok(())
}

/// Every check, in order.
pub async fn run(config: &ServeConfig) -> Vec<Finding> {
    let mut out = vec![
        public_url(config),
        private_fetch(config),
        metrics(config),
        data_dir(&config.storage.data_dir),
    ];
    let (key, key_finding) = master_key(config);
    out.push(key_finding);
    out.extend(database(config, key.as_ref()).await);
    out
}

#[cfg(unix)]
pub(super) fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
pub(super) fn mode(_path: &Path) -> Option<u32> {
    None
}

fn data_dir(dir: &Path) -> Finding {
    const CHECK: &str = "data dir";
    if !dir.exists() {
        return finding(
            Level::Warn,
            CHECK,
            format!(
                "{} does not exist yet: created at first start",
                dir.display()
            ),
        );
    }
    if !dir.is_dir() {
        return finding(
            Level::Fail,
            CHECK,
            format!("{} is not a directory", dir.display()),
        );
    }
    let probe = dir.join(format!(".latchkey-doctor-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"probe") {
        return finding(
            Level::Fail,
            CHECK,
            format!("{} is not writable: {e}", dir.display()),
        );
    }
    let _ = std::fs::remove_file(&probe);
    match mode(dir) {
        Some(m) if m & 0o077 != 0 => finding(
            Level::Warn,
            CHECK,
            format!(
                "{} is writable but open to group/other (mode {m:04o}): chmod 700",
                dir.display()
            ),
        ),
        _ => finding(Level::Ok, CHECK, format!("{} is writable", dir.display())),
    }
}

/// The master key `serve` would use, and what is wrong with it.
fn master_key(config: &ServeConfig) -> (Option<MasterKey>, Finding) {
    const CHECK: &str = "master key";
    if let Some(text) = &config.key.master_key {
        return match MasterKey::parse(text) {
            Ok(k) => (
                Some(k),
                finding(
                    Level::Ok,
                    CHECK,
                    "given by --master-key / LATCHKEY_MASTER_KEY",
                ),
            ),
            Err(e) => (
                None,
                finding(Level::Fail, CHECK, format!("LATCHKEY_MASTER_KEY: {e}")),
            ),
        };
    }
    let path = config.storage.data_dir.join("master.key");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                None,
                finding(
                    Level::Warn,
                    CHECK,
                    format!("{} does not exist: created at first start", path.display()),
                ),
            );
        }
        Err(e) => {
            return (
                None,
                finding(Level::Fail, CHECK, format!("{}: {e}", path.display())),
            );
        }
    };
    let key = match MasterKey::parse(&text) {
        Ok(k) => k,
        Err(e) => {
            return (
                None,
                finding(Level::Fail, CHECK, format!("{}: {e}", path.display())),
            );
        }
    };
    match mode(&path) {
        Some(m) if m & 0o077 != 0 => (
            Some(key),
            finding(
                Level::Fail,
                CHECK,
                format!(
                    "{} is readable by group/other (mode {m:04o}): chmod 600 it",
                    path.display()
                ),
            ),
        ),
        _ => (
            Some(key),
            finding(Level::Ok, CHECK, format!("{} (mode 0600)", path.display())),
        ),
    }
}

/// Database, migrations, master key against the database, clock.
async fn database(config: &ServeConfig, key: Option<&MasterKey>) -> Vec<Finding> {
    const CHECK: &str = "database";
    let url = config.storage.database_url();
    if let Some(file) = latchkey_store::in_use::database_file(&url)
        && !file.exists()
    {
        return vec![finding(
            Level::Warn,
            CHECK,
            format!(
                "{} does not exist yet: created at first start",
                file.display()
            ),
        )];
    }
    let store =
        match tokio::time::timeout(CONNECT_TIMEOUT, SqlStore::connect_unmigrated(&url)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return vec![finding(Level::Fail, CHECK, format!("cannot connect: {e}"))],
            Err(_) => return vec![finding(Level::Fail, CHECK, "no answer within 5 s")],
        };
    let mut out = vec![];
    match store.schema_version().await {
        Err(e) => out.push(finding(
            Level::Fail,
            CHECK,
            format!("answers, but has no Latchkey schema: {e}"),
        )),
        Ok(v) => {
            out.push(finding(
                Level::Ok,
                CHECK,
                format!("{:?} answers", store.backend()),
            ));
            out.push(if v.is_current() {
                finding(
                    Level::Ok,
                    "migrations",
                    format!("schema version {} (current)", v.applied),
                )
            } else if v.applied > v.known {
                finding(
                    Level::Fail,
                    "migrations",
                    format!(
                        "the database schema ({}) is newer than this build knows ({}): run the \
                         newer latchkey",
                        v.applied, v.known
                    ),
                )
            } else {
                finding(
                    Level::Warn,
                    "migrations",
                    format!(
                        "{} pending (database at {}, this build at {}): applied at the next \
                         start, or by `latchkey migrate`",
                        v.known - v.applied,
                        v.applied,
                        v.known
                    ),
                )
            });
            if let Some(key) = key {
                out.push(key_matches(&store, key).await);
            }
        }
    }
    out.push(clock(&store).await);
    store.close().await;
    out
}

async fn key_matches(store: &SqlStore, key: &MasterKey) -> Finding {
    const CHECK: &str = "master key match";
    match store.get_meta(META_KEY_CHECK).await {
        Ok(Some(check)) if check == key.check_value() => finding(
            Level::Ok,
            CHECK,
            "the database was made with this master key",
        ),
        Ok(Some(_)) => finding(
            Level::Fail,
            CHECK,
            "the database was made with another master key: the server would refuse to start",
        ),
        Ok(None) => finding(Level::Ok, CHECK, "the database records no key yet"),
        Err(e) => finding(Level::Fail, CHECK, format!("cannot read: {e}")),
    }
}

async fn clock(store: &SqlStore) -> Finding {
    const CHECK: &str = "clock";
    if store.backend() == latchkey_store::Backend::Sqlite {
        return finding(
            Level::Ok,
            CHECK,
            "the embedded database uses this machine's clock",
        );
    }
    match store.database_time().await {
        Ok(db) => {
            let skew = Timestamp::now().millis() - db.millis();
            let detail = format!("{:+.1} s from the database server", skew as f64 / 1000.0);
            if skew.abs() > MAX_SKEW_MS {
                finding(
                    Level::Warn,
                    CHECK,
                    format!(
                        "{detail}: token lifetimes and expiries will be off; sync clocks (NTP)"
                    ),
                )
            } else {
                finding(Level::Ok, CHECK, detail)
            }
        }
        Err(e) => finding(
            Level::Fail,
            CHECK,
            format!("cannot read the database time: {e}"),
        ),
    }
}
