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
        metrics::install();
    }
    if let Some(schedule) =
        RotationSchedule::of(config.key_rotation_days, config.key_rotation_period_secs)
    {
        spawn_key_rotation(state.clone(), schedule);
    }
    spawn_purge(
        state.clone(),
        Retention {
            decisions_days: config.decision_retention_days,
            audit_days: config.audit_retention_days,
        },
    );
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

/// Whether this instance takes `job`'s turn now: true for one instance at a time across every
/// instance on the database, for `seconds` (a little less than the job's period). Turns taken
/// are counted in `latchkey_scheduled_job_turns_total`.
async fn my_turn(state: &AppState, job: &'static str, seconds: i64) -> bool {
    let now = latchkey_domain::Timestamp::now();
    let holder = state.changes.instance();
    match state
        .store
        .take_lease(job, holder, now.plus_seconds(seconds), now)
        .await
    {
        Ok(mine) => {
            if mine {
                ::metrics::counter!("latchkey_scheduled_job_turns_total", "job" => job)
                    .increment(1);
            }
            mine
        }
        Err(e) => {
            tracing::warn!(error = %e, job, "job lease unavailable; skipping this turn");
            false
        }
    }
}

/// When zone keys rotate: a current key older than `period` seconds is replaced; the check runs
/// every `tick` seconds, each turn leased for five sixths of a tick, rounded up (the holder may
/// take its next turn at once; the others wait out the lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RotationSchedule {
    period: i64,
    tick: i64,
    lease: i64,
}

impl RotationSchedule {
    /// The schedule for `--key-rotation-days` (0: none) or the test setting in seconds.
    fn of(days: u32, period_secs: Option<i64>) -> Option<Self> {
        let period = match period_secs {
            Some(seconds) => seconds,
            None if days > 0 => i64::from(days) * 86_400,
            None => return None,
        };
        // (once a minute; a quarter of a short test period, at least every 2 s)
        let tick = (period / 4).clamp(2, 60);
        Some(Self {
            period,
            tick,
            lease: (tick * 5 + 5) / 6,
        })
    }
}

/// Rotates due zone keys on `schedule`, on one instance at a time.
fn spawn_key_rotation(state: AppState, schedule: RotationSchedule) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(schedule.tick.unsigned_abs());
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if !my_turn(&state, "key_rotation", schedule.lease).await {
                continue;
            }
            match state.keys.rotate_due(schedule.period).await {
                Ok(rotated) => service::policy_attest::resign_zones(&state, &rotated).await,
                Err(e) => tracing::warn!(error = %e, "automatic key rotation failed"),
            }
        }
    });
}

/// How long the logs are kept, in days (0 keeps them forever).
#[derive(Debug, Clone, Copy)]
struct Retention {
    decisions_days: u32,
    audit_days: u32,
}

/// The time before which a log kept `days` days is purged, unless it is kept forever.
fn purge_before(days: u32) -> Option<latchkey_domain::Timestamp> {
    (days > 0).then(|| latchkey_domain::Timestamp::now().plus_seconds(-i64::from(days) * 86_400))
}

/// Deletes expired pending authorization requests, codes, upstream states and refresh tokens
/// every ten minutes, so abandoned browser flows never accumulate, decisions and audit events
/// past their retention, and idle throttle counters; on one instance at a time.
fn spawn_purge(state: AppState, retention: Retention) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if !my_turn(&state, "purge", 540).await {
                continue;
            }
            let idle =
                latchkey_domain::Timestamp::now().plus_seconds(-latchkey_oauth::throttle::IDLE_S);
            if let Err(e) = state.store.purge_throttles(idle).await {
                tracing::warn!(error = %e, "purging idle throttle counters failed");
            }
            if let Some(before) = purge_before(retention.decisions_days)
                && let Err(e) = state.store.purge_decisions(before).await
            {
                tracing::warn!(error = %e, "purging old policy decisions failed");
            }
            if let Some(before) = purge_before(retention.audit_days)
                && let Err(e) = state.store.purge_audit_events(before).await
            {
                tracing::warn!(error = %e, "purging old audit events failed");
            }
            match state
                .store
                .purge_expired(latchkey_domain::Timestamp::now())
                .await
            {
                Ok(n) if n > 0 => {
                    tracing::debug!(purged = n, "expired browser-flow records purged")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired records failed"),
            }
        }
    });
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
    use super::{RotationSchedule, sqlite_file};

    #[test]
    fn rotation_is_checked_every_minute_or_quarter_of_a_short_period() {
        let days = RotationSchedule::of(90, None);
        assert_eq!(
            days,
            Some(RotationSchedule {
                period: 90 * 86_400,
                tick: 60,
                lease: 50
            })
        );
        assert_eq!(RotationSchedule::of(0, None), None);
        let short = RotationSchedule::of(0, Some(6));
        assert_eq!(
            short,
            Some(RotationSchedule {
                period: 6,
                tick: 2,
                lease: 2
            })
        );
        // (the test setting wins over the days)
        assert_eq!(RotationSchedule::of(90, Some(40)).map(|s| s.tick), Some(10));
    }

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
