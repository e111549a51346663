//! The `latchkey` server: configuration, start-up, and the HTTP surface (the management API and
//! the zone authorization servers' endpoints over `latchkey-oauth`). `main.rs` only parses the command line and calls
//! [`run`]. It is the only crate that depends on axum; protocol logic belongs in `latchkey-oauth`,
//! Cedar in `latchkey-policy`, SQL in `latchkey-store`.

pub mod api;
pub mod audit;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
pub mod html;
pub mod invite;
mod jobs;
pub mod metrics;
pub mod oauth_error;
pub mod ops;
pub mod routes;
pub mod service;
pub mod state;
pub mod transport;

use std::sync::Arc;

use latchkey_domain::store::Store;
use latchkey_store::SqlStore;
use tokio::net::TcpListener;

use crate::config::{ServeConfig, StorageConfig};
use crate::service::bootstrap::{self, BootstrapError};
use crate::state::AppState;

/// Opens the store named by `storage`, creating the data directory (mode 0700) and a missing
/// SQLite database file if needed.
pub async fn open_store(storage: &StorageConfig) -> Result<SqlStore, BootstrapError> {
    create_data_dir(&storage.data_dir)?;
    let url = storage.database_url();
    create_sqlite_file(&url)?;
    SqlStore::open(&url).await.map_err(BootstrapError::Store)
}

/// The file of a `sqlite:` URL (percent-decoded), unless the URL names an in-memory or
/// read-only database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (db, params) = rest.split_once('?').unwrap_or((rest, ""));
    let special = form_urlencoded::parse(params.as_bytes())
        .any(|(k, v)| k == "mode" && (v == "memory" || v == "ro"));
    let path = percent_encoding::percent_decode_str(db)
        .decode_utf8()
        .ok()?;
    (!special && !path.is_empty() && path != ":memory:")
        .then(|| std::path::PathBuf::from(path.as_ref()))
}

/// Creates the database file of a `sqlite:` URL (mode 0600, its directory if missing), so that
/// `--database-url sqlite://PATH` works for a new database; the error names the path and the
/// cause (e.g. a directory that is not writable).
fn create_sqlite_file(url: &str) -> Result<(), BootstrapError> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_data_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(BootstrapError::Io(format!(
            "cannot create the SQLite database {}: {e} (is its directory writable?)",
            path.display()
        ))),
    }
}

pub(crate) fn create_data_dir(dir: &std::path::Path) -> Result<(), BootstrapError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| BootstrapError::Io(format!("creating {}: {e}", dir.display())))
}

/// Where and how the server is reached, and what it is keyed with: what both `serve` and
/// `latchkey invite` need to open the application state.
pub struct Reach<'a> {
    pub master_key: Option<&'a str>,
    pub data_dir: &'a std::path::Path,
    pub public_url: String,
    pub zone_domain: Option<&'a str>,
    pub allow_private_fetch: bool,
    /// Device code lifetime and polling interval (RFC 8628).
    pub device: latchkey_oauth::device_codes::DeviceSettings,
}

/// Opens the application state over `store`: master key (created on first start) and its check
/// against the database, the default organization (created on first start).
pub async fn open_state(
    store: Arc<dyn Store>,
    reach: Reach<'_>,
    mailer: Option<Arc<service::mail::Mailer>>,
) -> Result<AppState, BootstrapError> {
    let master = bootstrap::load_master_key(reach.master_key, reach.data_dir)?;
    bootstrap::check_master_key(store.as_ref(), &master).await?;
    let default_org = bootstrap::default_organization(store.as_ref()).await?;
    let mut services = latchkey_oauth::services::Services::new(
        store,
        master.secret_hasher(),
        master.sealer(),
        reach.allow_private_fetch,
    );
    services.device = reach.device;
    Ok(AppState::new(state::Shared {
        services,
        public_url: reach.public_url.trim_end_matches('/').into(),
        default_org,
        zone_domain: reach.zone_domain.map(|d| d.trim_matches('.').into()),
        mailer,
    }))
}

/// The invitation mailer, when SMTP is configured (settings checked here, at start).
fn mailer(config: &ServeConfig) -> Result<Option<Arc<service::mail::Mailer>>, BootstrapError> {
    let Some(settings) = config
        .smtp
        .settings()
        .map_err(|e| BootstrapError::Invalid(e.to_string()))?
    else {
        return Ok(None);
    };
    let mailer = service::mail::Mailer::new(&settings)
        .map_err(|e| BootstrapError::Invalid(format!("SMTP settings: {e}")))?;
    tracing::info!(host = %settings.host, port = settings.port, tls = ?settings.tls, "invitation email enabled");
    Ok(Some(Arc::new(mailer)))
}

/// Builds the application state: master key, store checks, default organization, bootstrap key.
pub async fn prepare(
    config: &ServeConfig,
    store: Arc<dyn Store>,
    public_url: String,
) -> Result<AppState, BootstrapError> {
    // Instances starting together on one database set it up one after another (else each
    // would create a default organization).
    let lease = bootstrap::StartupLease::take(store.as_ref()).await?;
    let state = prepare_alone(config, store.clone(), public_url).await;
    lease.release(store.as_ref()).await;
    state
}

async fn prepare_alone(
    config: &ServeConfig,
    store: Arc<dyn Store>,
    public_url: String,
) -> Result<AppState, BootstrapError> {
    let reach = Reach {
        master_key: config.key.master_key.as_deref(),
        data_dir: &config.storage.data_dir,
        public_url,
        zone_domain: config.zone_domain.as_deref(),
        allow_private_fetch: config
            .allow_private_fetch
            .unwrap_or_else(|| config.listen.ip().is_loopback()),
        device: latchkey_oauth::device_codes::DeviceSettings {
            lifetime_seconds: config.device_code_lifetime_secs,
            interval_seconds: config.device_poll_interval_secs,
        },
    };
    let state = open_state(store, reach, mailer(config)?).await?;
    bootstrap::bootstrap_key(
        &state,
        config.bootstrap_api_key.as_deref(),
        &config.storage.data_dir,
    )
    .await?;
    if cfg!(feature = "bench-without-cedar") {
        tracing::error!(
            "built with `bench-without-cedar`: policies are NOT enforced (benchmark build only)"
        );
    }
    state.decisions.start(state.store.clone());
    state
        .policies
        .start_rechecks(state.store.clone(), state.changes.clone());
    state
        .change_poll
        .start(state.store.clone(), state.changes.clone());
    // Every platform zone holds the management API resource and the first-party clients.
    service::platform_zone::ensure_all(&state).await?;
    state.audit.set_management_audience(&state.public_url);
    state.audit.start(state.store.clone());
    // Zones created before policies existed get the platform set (idempotent).
    let seeded = service::policy_attest::seed_missing(&state).await?;
    if seeded > 0 {
        tracing::info!(zones = seeded, "default policy set seeded");
    }
    Ok(state)
}

/// Runs the server until SIGTERM or Ctrl-C, then drains in-flight requests and closes the store.
pub async fn serve(config: ServeConfig) -> Result<(), BootstrapError> {
    // (read before anything starts: a bad token file stops the start)
    let metrics_token = metrics::configured_token(&config).map_err(BootstrapError::Invalid)?;
    let store = Arc::new(open_store(&config.storage).await?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| BootstrapError::Io(format!("binding {}: {e}", config.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| BootstrapError::Io(e.to_string()))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let state = prepare(&config, store.clone(), public_url.clone()).await?;
    tracing::info!(address = %local, %public_url, backend = ?store.backend(), "latchkey listening");
    latchkey_oauth::change_feed::start(Arc::new(state.clone()));
    if config.metrics {
        metrics::install(metrics_token);
    }
    jobs::start(&state, &config);
    let decisions = state.decisions.clone();
    let audit = state.audit.clone();
    let app = routes::app_with(
        state,
        std::time::Duration::from_millis(config.request_timeout_ms),
    );
    let limits = transport::Limits {
        max_connections: config.max_connections,
        header_read_timeout: std::time::Duration::from_millis(config.header_read_timeout_ms),
    };
    transport::serve(listener, app, limits, shutdown_signal()).await;
    decisions.flush(store.as_ref()).await;
    audit.flush(store.as_ref()).await;
    store.close().await;
    tracing::info!("latchkey stopped cleanly");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed here, before the listener serves,
/// not when the future is first polled: a SIGTERM right after the first `/healthz` answer must
/// drain, not kill the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutdown requested; finishing in-flight requests");
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn sqlite_urls_name_their_file() {
        let file = |u: &str| sqlite_file(u).map(|p| p.display().to_string());
        assert_eq!(file("sqlite:///tmp/a.db").as_deref(), Some("/tmp/a.db"));
        assert_eq!(
            file("sqlite://data/a.db?mode=rwc").as_deref(),
            Some("data/a.db")
        );
        assert_eq!(file("sqlite:a%20b.db").as_deref(), Some("a b.db"));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://a.db?mode=memory"), None);
        assert_eq!(file("sqlite://a.db?mode=ro"), None);
        assert_eq!(file("postgres://localhost/x"), None);
    }
}
