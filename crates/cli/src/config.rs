//! The user's configuration directory: where it is, the profiles file (`profiles.json`: server,
//! organization and zone per profile) and the per-profile token cache (`tokens/{profile}.json`).
//! The directory is created 0700 and every file 0600, with the mode given at creation (a file is
//! written to a fresh temporary file and renamed over the old one), so no other user can read a
//! token even for an instant.

use std::collections::BTreeMap;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

const PROFILES_FILE: &str = "profiles.json";
const TOKENS_DIR: &str = "tokens";

/// The configuration directory: `$LATCHKEY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/latchkey`, else
/// `~/.config/latchkey`.
pub fn config_dir() -> CliResult<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("LATCHKEY_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(xdg).join("latchkey"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("latchkey")),
        None => Err(CliError::Other(
            "no configuration directory: set LATCHKEY_CONFIG_DIR or HOME".into(),
        )),
    }
}

/// What a profile remembers. Unset fields fall back to flags, environment and defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// The cached sign-in of one profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenCache {
    /// The server URL the sign-in was made through: the tokens are sent to no other.
    #[serde(default)]
    pub server: String,
    /// The management API (the server's public URL) the tokens are for.
    pub resource: String,
    pub issuer: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    pub client_id: String,
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Unix time (seconds) after which the access token is no longer valid.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

/// The configuration directory of one invocation.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    root: PathBuf,
}

impl ConfigDir {
    /// The default directory (see [`config_dir`]).
    pub fn locate() -> CliResult<Self> {
        Ok(Self::at(config_dir()?))
    }

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    /// All profiles (empty when there is no file yet).
    pub fn profiles(&self) -> CliResult<BTreeMap<String, Profile>> {
        Ok(read_json(&self.root.join(PROFILES_FILE))?.unwrap_or_default())
    }

    pub fn profile(&self, name: &str) -> CliResult<Profile> {
        Ok(self.profiles()?.remove(name).unwrap_or_default())
    }

    pub fn save_profile(&self, name: &str, profile: &Profile) -> CliResult<()> {
        check_profile_name(name)?;
        let mut all = self.profiles()?;
        all.insert(name.to_owned(), profile.clone());
        self.write(&self.root.join(PROFILES_FILE), &all)
    }

    pub fn tokens(&self, profile: &str) -> CliResult<Option<TokenCache>> {
        check_profile_name(profile)?;
        read_json(&self.token_path(profile))
    }

    pub fn save_tokens(&self, profile: &str, tokens: &TokenCache) -> CliResult<()> {
        check_profile_name(profile)?;
        self.write(&self.token_path(profile), tokens)
    }

    /// Deletes the token cache of `profile`; true when there was one.
    pub fn delete_tokens(&self, profile: &str) -> CliResult<bool> {
        check_profile_name(profile)?;
        let path = self.token_path(profile);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(CliError::io(&path, e)),
        }
    }

    /// Holds an exclusive lock on the profile's token cache until the file is dropped, so that
    /// two processes never redeem the same refresh token (the server would take the second use
    /// for a stolen token and revoke the sign-in).
    pub fn lock_tokens(&self, profile: &str) -> CliResult<std::fs::File> {
        check_profile_name(profile)?;
        let path = self.root.join(TOKENS_DIR).join(format!("{profile}.lock"));
        if let Some(parent) = path.parent() {
            private_dir(parent)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| CliError::io(&path, e))?;
        file.lock().map_err(|e| CliError::io(&path, e))?;
        Ok(file)
    }

    pub fn token_path(&self, profile: &str) -> PathBuf {
        self.root.join(TOKENS_DIR).join(format!("{profile}.json"))
    }

    fn write<T: Serialize>(&self, path: &Path, value: &T) -> CliResult<()> {
        let text = serde_json::to_vec_pretty(value)
            .map_err(|e| CliError::Other(format!("cannot encode `{}`: {e}", path.display())))?;
        if let Some(parent) = path.parent() {
            private_dir(parent)?;
        }
        write_private(path, &text)
    }
}

/// Profile names become file names: letters, digits, `-`, `_` and `.` (not leading).
fn check_profile_name(name: &str) -> CliResult<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "`{name}` is not a profile name: use letters, digits, `-`, `_` and `.`"
        )))
    }
}

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is.
pub fn private_dir(dir: &Path) -> CliResult<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::io(dir, e))
}

/// Writes `bytes` to `path` through a new file created with mode 0600, renamed into place.
pub fn write_private(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| CliError::io(&tmp, e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::io(path, e));
    }
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> CliResult<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| CliError::Other(format!("`{}` is not valid: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn cache() -> TokenCache {
        TokenCache {
            server: "http://s".into(),
            resource: "http://r".into(),
            issuer: "http://i".into(),
            token_endpoint: "http://i/token".into(),
            revocation_endpoint: None,
            client_id: "latchkey-cli".into(),
            access_token: "at".into(),
            refresh_token: Some("rt".into()),
            expires_at: Some(1),
        }
    }

    #[test]
    fn token_file_is_0600_in_a_0700_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cfg");
        let dir = ConfigDir::at(root.clone());
        dir.save_tokens("default", &cache()).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("tokens")), 0o700);
        assert_eq!(mode(&dir.token_path("default")), 0o600);
        // Rewriting keeps the mode (a new file each time), and reads back.
        dir.save_tokens("default", &cache()).unwrap();
        assert_eq!(mode(&dir.token_path("default")), 0o600);
        assert_eq!(dir.tokens("default").unwrap().unwrap().access_token, "at");
        assert!(dir.delete_tokens("default").unwrap());
        assert!(dir.tokens("default").unwrap().is_none());
    }

    #[test]
    fn the_token_lock_is_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ConfigDir::at(tmp.path().to_path_buf());
        let held = dir.lock_tokens("default").unwrap();
        let path = tmp.path().join("tokens").join("default.lock");
        assert_eq!(mode(&path), 0o600);
        let other = std::fs::File::open(&path).unwrap();
        assert!(other.try_lock().is_err(), "a second holder must wait");
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn profiles_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ConfigDir::at(tmp.path().to_path_buf());
        let p = Profile {
            server: Some("http://s".into()),
            org: None,
            zone: Some("z".into()),
        };
        dir.save_profile("work", &p).unwrap();
        assert_eq!(dir.profile("work").unwrap(), p);
        assert_eq!(dir.profile("other").unwrap(), Profile::default());
        assert_eq!(mode(&tmp.path().join(PROFILES_FILE)), 0o600);
    }

    #[test]
    fn profile_names_cannot_escape_the_directory() {
        let dir = ConfigDir::at(PathBuf::from("/nonexistent"));
        assert!(dir.tokens("../x").is_err());
        assert!(dir.tokens("").is_err());
        assert!(dir.tokens(".hidden").is_err());
    }
}
