//! `latchkey restore`: replaces the embedded SQLite database with a `latchkey backup` file. The
//! store checks the file (a Latchkey database of a known schema version) and refuses while any
//! process has the database open; this module chooses the master key (the backup's
//! `FILE.master.key`, `--master-key`, or the data directory's own), refuses a key that does not
//! match the backup, and installs the backup's key file with the database.

use std::path::Path;

use latchkey_crypto::MasterKey;
use latchkey_store::maintenance::{self, BackupInfo};

use crate::config::RestoreConfig;
use crate::ops::backup::{POSTGRES_PROCEDURE, master_key_beside, write_private};
use crate::service::bootstrap::BootstrapError;

/// Runs `latchkey restore`.
pub async fn restore(config: RestoreConfig) -> Result<(), BootstrapError> {
    let url = config.storage.database_url();
    if !url.starts_with("sqlite:") {
        return Err(BootstrapError::Invalid(POSTGRES_PROCEDURE.into()));
    }
    crate::create_data_dir(&config.storage.data_dir)?;
    let key_file = config.storage.data_dir.join("master.key");
    let (key, install) = master_key(&config, &key_file)?;
    let staged_key = config.storage.data_dir.join("master.key.restoring");
    if let Some(text) = &install {
        let _ = std::fs::remove_file(&staged_key);
        write_private(&staged_key, text.as_bytes())?;
    }
    let expected = key.check_value();
    let accept = |info: &BackupInfo| match &info.key_check {
        Some(check) if *check != expected => {
            Err("the master key does not match this backup (it was made with another key)".into())
        }
        _ => Ok(()),
    };
    let restored = match maintenance::restore_sqlite(&config.from, &url, accept).await {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&staged_key);
            return Err(BootstrapError::Invalid(format!("restore refused: {e}")));
        }
    };
    println!(
        "restored {} from {} (schema version {})",
        restored.database.display(),
        config.from.display(),
        restored.info.version
    );
    if let Some(previous) = &restored.previous {
        println!("the database it replaced is kept as {}", previous.display());
    }
    if install.is_some() {
        std::fs::rename(&staged_key, &key_file)
            .map_err(|e| BootstrapError::Io(format!("installing {}: {e}", key_file.display())))?;
        println!(
            "master key: installed from {} as {}",
            master_key_beside(&config.from).display(),
            key_file.display()
        );
    } else if config.key.master_key.is_some() {
        println!("master key: start the server with the same --master-key / LATCHKEY_MASTER_KEY");
    } else {
        println!("master key: {} matches the backup", key_file.display());
    }
    Ok(())
}

/// The key the backup is read with, and the text to install as `master.key` (when it comes
/// from the backup).
fn master_key(
    config: &RestoreConfig,
    key_file: &Path,
) -> Result<(MasterKey, Option<String>), BootstrapError> {
    let parse = |text: &str, from: &str| {
        MasterKey::parse(text.trim()).map_err(|e| BootstrapError::Invalid(format!("{from}: {e}")))
    };
    if let Some(text) = &config.key.master_key {
        return Ok((parse(text, "LATCHKEY_MASTER_KEY")?, None));
    }
    let beside = master_key_beside(&config.from);
    if let Ok(text) = std::fs::read_to_string(&beside) {
        let key = parse(&text, &beside.display().to_string())?;
        return Ok((key, Some(text)));
    }
    match std::fs::read_to_string(key_file) {
        Ok(text) => Ok((parse(&text, &key_file.display().to_string())?, None)),
        Err(_) => Err(BootstrapError::Invalid(format!(
            "no master key: {} is missing, --master-key / LATCHKEY_MASTER_KEY is not set and {} \
             does not exist; the backup cannot be read without the key it was made with",
            beside.display(),
            key_file.display()
        ))),
    }
}
