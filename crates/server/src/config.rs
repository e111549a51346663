//! Command line and environment: one typed `Config` per subcommand, read by clap from flags with
//! `LATCHKEY_*` environment fallbacks. The SMTP settings and their checks are `smtp`.

pub mod otlp;
pub mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::invitation::OrganizationRole;

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: a self-hostable identity and access server for AI agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Settings of the client commands (`latchkey_cli`); the server commands ignore them.
    #[command(flatten)]
    pub client: latchkey_cli::GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (management API and every zone's authorization server).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate(StorageConfig),
    /// Invite someone to an organization (by default: the first admin of the default
    /// organization) and print the one-time invitation link.
    Invite(InviteConfig),
    /// Check a deployment's settings, files and database before (or while) serving: one line
    /// per check (OK, WARN or FAIL); exits non-zero if any check fails. Takes the flags and
    /// environment of `serve`.
    Doctor(ServeConfig),
    /// Back up the embedded SQLite database while the server runs (PostgreSQL: prints the
    /// `pg_dump` procedure instead and exits non-zero).
    ///
    /// Writes FILE (given by --out; it must not exist), a consistent snapshot of the database
    /// taken with SQLite's VACUUM INTO, safe while the server serves and writes. The master key
    /// file (<data-dir>/master.key) is copied beside it as FILE.master.key; both files are
    /// created with mode 0600. Without that key the backup's secrets (vault secrets, signing
    /// keys, client secrets sealed at rest) cannot be read: keep the two files together and
    /// private. When the master key is given by --master-key / LATCHKEY_MASTER_KEY no key file
    /// is written: keep that key with the backup yourself.
    ///
    /// Restore with `latchkey restore --data-dir D --from FILE` (server stopped).
    ///
    /// PostgreSQL databases are backed up with PostgreSQL's own tools: this command prints the
    /// procedure (pg_dump) and exits non-zero.
    Backup(BackupConfig),
    /// Restore the embedded SQLite database from a `latchkey backup` file (the server must be
    /// stopped).
    ///
    /// Stop the server first: the restore is refused while any latchkey process has the
    /// database open. The file must be a Latchkey database whose schema version this build
    /// knows. It replaces <data-dir>/latchkey.db atomically (a rename); the database it
    /// replaces is kept as latchkey.db.pre-restore.
    ///
    /// The backup's secrets can only be read with the master key it was made with. The key is
    /// taken from FILE.master.key (written by `latchkey backup`) and installed as
    /// <data-dir>/master.key; else from --master-key / LATCHKEY_MASTER_KEY; else the data
    /// directory's own master.key. A key that does not match the backup is refused.
    Restore(RestoreConfig),
    /// The client commands: they talk to a Latchkey server over HTTP (see `docs/cli.md`).
    #[command(flatten)]
    Client(latchkey_cli::Command),
}

/// Where data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Database URL: `sqlite://PATH` or `postgres://…`. Default: a SQLite file in the data directory.
    #[arg(long, env = "LATCHKEY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the embedded database, the master key and the generated admin key.
    #[arg(long, env = "LATCHKEY_DATA_DIR", default_value = "./latchkey-data")]
    pub data_dir: PathBuf,
}

impl StorageConfig {
    /// The database URL to use.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("latchkey.db").display()
            )
        })
    }
}

/// How log lines are written (standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the fields of the request span (`span.request_id`, …).
    Json,
}

/// What `serve` logs and how (the filter is `LATCHKEY_LOG`, default `info`), and where it
/// exports traces.
#[derive(Debug, Clone, Default, Args)]
pub struct LogConfig {
    /// Log line format.
    #[arg(long, env = "LATCHKEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log one INFO line per request when it completes (method, path without query, status,
    /// latency, request id).
    #[arg(long, env = "LATCHKEY_ACCESS_LOG")]
    pub access_log: bool,

    #[command(flatten)]
    pub otlp: otlp::OtlpConfig,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub log: LogConfig,

    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base of every URL the server advertises (zone issuers are `{public_url}/z/{zone_id}`).
    /// Default: `http://` + the listen address.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Platform-admin API key for the default organization, installed at start (at least 16
    /// characters). Without it, a new database gets a generated key written to
    /// `<data-dir>/admin-api-key`.
    #[arg(
        long = "bootstrap-api-key",
        env = "LATCHKEY_BOOTSTRAP_API_KEY",
        hide_env_values = true
    )]
    pub bootstrap_api_key: Option<String>,

    #[command(flatten)]
    pub key: MasterKeyArg,

    /// Host mode: serve each zone at `{zone_id}.{zone_domain}` (e.g. `zones.example.com`)
    /// instead of `{public_url}/z/{zone_id}`.
    #[arg(long, env = "LATCHKEY_ZONE_DOMAIN")]
    pub zone_domain: Option<String>,

    /// Let outbound fetches (client JWKS, provider discovery) reach private and loopback
    /// addresses. Default: on when listening on loopback (local development), off otherwise.
    /// Link-local and cloud-metadata addresses are never reached.
    #[arg(long, env = "LATCHKEY_ALLOW_PRIVATE_FETCH")]
    pub allow_private_fetch: Option<bool>,
    /// Serve Prometheus metrics at `GET /metrics` on the listen address (unauthenticated unless
    /// `--metrics-token-file` is given: otherwise expose the path to your scraper only).
    #[arg(long, env = "LATCHKEY_METRICS", default_value_t = false)]
    pub metrics: bool,
    /// A file holding the bearer token a scrape of `/metrics` must present (Prometheus:
    /// `authorization.credentials_file`); 16 to 4,096 visible ASCII characters on one line.
    /// Needs `--metrics`. Without it, `/metrics` answers anyone who reaches it.
    #[arg(long, env = "LATCHKEY_METRICS_TOKEN_FILE", value_name = "PATH")]
    pub metrics_token_file: Option<std::path::PathBuf>,

    /// Most connections served at once; further clients wait until one closes.
    #[arg(long, env = "LATCHKEY_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Milliseconds a client has to send its request headers (slowloris protection). For tests.
    #[arg(
        long,
        env = "LATCHKEY_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        hide = true
    )]
    pub header_read_timeout_ms: u64,

    /// Milliseconds a request (body included) may take before it answers 408. For tests.
    #[arg(
        long,
        env = "LATCHKEY_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000,
        hide = true
    )]
    pub request_timeout_ms: u64,

    /// Seconds a device code (RFC 8628) stays valid. For tests.
    #[arg(
        long,
        env = "LATCHKEY_DEVICE_CODE_LIFETIME_SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(i64).range(1..=86_400),
        hide = true
    )]
    pub device_code_lifetime_secs: i64,

    /// Seconds a device must wait between polls of the token endpoint (RFC 8628). For tests.
    #[arg(
        long,
        env = "LATCHKEY_DEVICE_POLL_INTERVAL_SECS",
        default_value_t = 5,
        value_parser = clap::value_parser!(i64).range(1..=600),
        hide = true
    )]
    pub device_poll_interval_secs: i64,

    /// Rotate each zone's signing key after this many days (0 disables automatic rotation).
    #[arg(long, env = "LATCHKEY_KEY_ROTATION_DAYS", default_value_t = 90)]
    pub key_rotation_days: u32,

    /// Rotation period in seconds, in place of `--key-rotation-days`: a scheduled rotation that
    /// can happen during a test run (the check then runs every quarter period, at least 2 s).
    #[arg(
        long,
        env = "LATCHKEY_KEY_ROTATION_PERIOD_SECS",
        value_parser = clap::value_parser!(i64).range(4..),
        hide = true
    )]
    pub key_rotation_period_secs: Option<i64>,

    /// Keep the policy decision log this many days (0 keeps it forever).
    #[arg(long, env = "LATCHKEY_DECISION_RETENTION_DAYS", default_value_t = 30)]
    pub decision_retention_days: u32,

    /// Keep the audit log this many days (0 keeps it forever).
    #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    pub audit_retention_days: u32,

    #[command(flatten)]
    pub smtp: smtp::SmtpConfig,

    #[command(flatten)]
    pub storage: StorageConfig,
}

/// `latchkey invite`: the same storage and master key as `serve`, and the public URL the link
/// is built on.
#[derive(Debug, Clone, Args)]
pub struct InviteConfig {
    /// Address of the person invited (the account they create has this email).
    #[arg(long)]
    pub email: String,

    /// Their role in the organization.
    #[arg(long, default_value = "org_admin", value_parser = organization_role)]
    pub role: OrganizationRole,

    /// Organization id or label. Default: the default organization.
    #[arg(long)]
    pub organization: Option<String>,

    /// Base of the server's URLs, as given to `serve` (the link is
    /// `{public_url}/z/{platform_zone_id}/invitation?token=…`).
    #[arg(
        long,
        env = "LATCHKEY_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Host mode, as given to `serve`: the link names the zone's own host.
    #[arg(long, env = "LATCHKEY_ZONE_DOMAIN")]
    pub zone_domain: Option<String>,

    #[command(flatten)]
    pub key: MasterKeyArg,

    #[command(flatten)]
    pub storage: StorageConfig,
}

/// The master key option of every command that opens the database.
#[derive(Debug, Clone, Default, Args)]
pub struct MasterKeyArg {
    /// Master key (32 bytes, base64url) from which every server key is derived. Default: the
    /// file `<data-dir>/master.key`, which `serve` creates on first start. `backup` copies that
    /// file beside the backup unless the key is given here (then keep it with the backup
    /// yourself); `restore` refuses a backup made with another key.
    #[arg(
        long = "master-key",
        env = "LATCHKEY_MASTER_KEY",
        hide_env_values = true
    )]
    pub master_key: Option<String>,
}

/// `latchkey backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupConfig {
    /// The backup file to write (must not exist). The master key file is copied beside it as
    /// `FILE.master.key`.
    #[arg(long)]
    pub out: PathBuf,

    #[command(flatten)]
    pub key: MasterKeyArg,

    #[command(flatten)]
    pub storage: StorageConfig,
}

/// `latchkey restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreConfig {
    /// The backup file (made by `latchkey backup`). `FILE.master.key`, when present, is
    /// installed as `<data-dir>/master.key`.
    #[arg(long)]
    pub from: PathBuf,

    #[command(flatten)]
    pub key: MasterKeyArg,

    #[command(flatten)]
    pub storage: StorageConfig,
}

fn organization_role(s: &str) -> Result<OrganizationRole, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("`{s}` is not a role: use org_admin, org_member or org_viewer"))
}
