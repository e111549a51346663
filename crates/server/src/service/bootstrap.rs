//! First-start and every-start set-up: the master key, the check that it matches the database,
//! the default organization, and the platform-admin bootstrap API key.

use std::io::Write;
use std::path::Path;

use latchkey_crypto::MasterKey;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{ApiKeyId, OrganizationId};
use latchkey_domain::model::access::ApiKey;
use latchkey_domain::store::Store;

use crate::state::AppState;

pub const META_KEY_CHECK: &str = "master_key_check";
const META_DEFAULT_ORG: &str = "default_organization_id";
const BOOTSTRAP_KEY_NAME: &str = "bootstrap";
/// Prefix of generated API keys.
pub const API_KEY_PREFIX: &str = "lk_key_";
/// Shortest bootstrap key accepted from the environment.
pub const MIN_BOOTSTRAP_KEY_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(#[from] latchkey_domain::StoreError),
    #[error("{0}")]
    Api(String),
}

impl From<crate::error::ApiError> for BootstrapError {
    fn from(e: crate::error::ApiError) -> Self {
        Self::Api(e.message)
    }
}

/// The start-up lease: held while an instance sets up a database (default organization, keys,
/// platform zones), so that instances starting together do it one after another.
pub struct StartupLease {
    holder: String,
}

/// How long a start-up may hold the lease before another instance takes over (a crashed start).
const STARTUP_LEASE_SECONDS: i64 = 60;
const STARTUP_JOB: &str = "start-up";

impl StartupLease {
    /// Waits (up to the lease's length) for the lease, then holds it.
    pub async fn take(store: &dyn Store) -> Result<Self, BootstrapError> {
        let holder =
            latchkey_crypto::random::id().map_err(|e| BootstrapError::Io(e.to_string()))?;
        let started = std::time::Instant::now();
        loop {
            let now = Timestamp::now();
            let until = now.plus_seconds(STARTUP_LEASE_SECONDS);
            if store.take_lease(STARTUP_JOB, &holder, until, now).await? {
                return Ok(Self { holder });
            }
            if started.elapsed().as_secs() > STARTUP_LEASE_SECONDS as u64 {
                return Err(BootstrapError::Io(
                    "another instance has been setting up this database for over a minute".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Frees the lease for the next instance.
    pub async fn release(self, store: &dyn Store) {
        let now = Timestamp::now();
        if let Err(e) = store.take_lease(STARTUP_JOB, &self.holder, now, now).await {
            tracing::warn!(error = %e, "start-up lease not released; it expires in a minute");
        }
    }
}

/// Loads the master key from `configured` (env/flag) or `<data_dir>/master.key`, creating the
/// file (mode 0600) on first start.
pub fn load_master_key(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<MasterKey, BootstrapError> {
    if let Some(text) = configured {
        return MasterKey::parse(text)
            .map_err(|e| BootstrapError::Invalid(format!("LATCHKEY_MASTER_KEY: {e}")));
    }
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::parse(&text)
            .map_err(|e| BootstrapError::Invalid(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate().map_err(|e| BootstrapError::Io(e.to_string()))?;
            write_private(&path, &key.to_text())?;
            tracing::info!(path = %path.display(), "generated a new master key; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(BootstrapError::Io(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

/// Refuses to start when the master key is not the one the database was created with.
pub async fn check_master_key(store: &dyn Store, key: &MasterKey) -> Result<(), BootstrapError> {
    let expected = key.check_value();
    let stored = store.init_meta(META_KEY_CHECK, &expected).await?;
    if stored != expected {
        return Err(BootstrapError::Invalid(
            "the master key does not match this database (wrong LATCHKEY_MASTER_KEY or master.key file)".into(),
        ));
    }
    Ok(())
}

/// The default organization, created on first start.
pub async fn default_organization(store: &dyn Store) -> Result<OrganizationId, BootstrapError> {
    if let Some(id) = store.get_meta(META_DEFAULT_ORG).await? {
        return Ok(OrganizationId::new(id));
    }
    let org = super::organizations::insert(store, "Default".to_owned()).await?;
    Ok(OrganizationId::new(
        store.init_meta(META_DEFAULT_ORG, org.id.as_str()).await?,
    ))
}

/// Installs the bootstrap admin key: the configured one (replacing an earlier bootstrap key), or,
/// on a database with no key at all, a generated one that is printed once and written to
/// `<data_dir>/admin-api-key`.
pub async fn bootstrap_key(
    state: &AppState,
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<(), BootstrapError> {
    let (key, generated) = match configured {
        Some(k) if k.len() < MIN_BOOTSTRAP_KEY_LEN => {
            return Err(BootstrapError::Invalid(format!(
                "LATCHKEY_BOOTSTRAP_API_KEY must be at least {MIN_BOOTSTRAP_KEY_LEN} characters"
            )));
        }
        Some(k) => (k.to_owned(), false),
        None if state.store.count_api_keys().await? == 0 => (
            latchkey_crypto::random::secret(API_KEY_PREFIX)
                .map_err(|e| BootstrapError::Io(e.to_string()))?,
            true,
        ),
        None => return Ok(()),
    };
    let record = ApiKey {
        id: ApiKeyId::new(
            latchkey_crypto::random::id().map_err(|e| BootstrapError::Io(e.to_string()))?,
        ),
        organization_id: state.default_org.clone(),
        name: BOOTSTRAP_KEY_NAME.to_owned(),
        key_hash: state.hasher.hash(&key),
        platform_admin: true,
        created_at: Timestamp::now(),
    };
    state.store.replace_named_api_key(&record).await?;
    if generated {
        let path = data_dir.join("admin-api-key");
        write_private(&path, &format!("{key}\n"))?;
        // Printed once, on purpose: this is the operator's only other way to learn the key.
        println!(
            "latchkey: generated admin API key (also written to {}):\n{key}",
            path.display()
        );
    }
    Ok(())
}

/// Writes `contents` to a new file readable only by the owner.
fn write_private(path: &Path, contents: &str) -> Result<(), BootstrapError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| BootstrapError::Io(format!("writing {}: {e}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| BootstrapError::Io(format!("writing {}: {e}", path.display())))
}
