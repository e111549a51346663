//! The SQL implementation of Latchkey's store traits, for SQLite (embedded default) and
//! PostgreSQL. Queries are written once in the SQL both dialects share (`$n` placeholders, integer
//! timestamps and flags, JSON as text) and run through sqlx's `Any` driver; the dialects differ
//! only in their migration files and connection set-up (`db.rs`).
//! It depends on `latchkey-domain` only among Latchkey crates, and never on axum or the server.

mod access;
pub mod admin;
mod app_credentials;
mod applications;
mod audit;
mod auth_requests;
mod cluster;
mod db;
mod device;
mod error;
mod grant_rows;
mod identity;
mod identity_rows;
pub mod in_use;
mod invitations;
mod keys;
mod login;
pub mod maintenance;
mod members;
mod meta;
mod migrate;
mod organizations;
mod policies;
mod policy_bound;
mod policy_decisions;
mod policy_rows;
mod policy_sets;
mod providers;
mod purge;
mod refresh;
mod resources;
mod service_accounts;
mod sql;
mod sso;
mod vault;
mod zones;

pub use cluster::MARKED_TABLES;
pub use db::{Backend, Db};
pub use migrate::{MIGRATIONS, latest as latest_migration};
pub use providers::platform_provider_id;
pub use sql::COUNTED_TABLES;

use async_trait::async_trait;
use latchkey_domain::store::Store;

/// The store: one database, either back end.
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and runs pending migrations.
    pub async fn open(url: &str) -> Result<Self, latchkey_domain::StoreError> {
        let db = Db::connect(url).await?;
        migrate::run(&db).await?;
        Ok(Self { db })
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn close(&self) {
        self.db.close().await;
    }

    async fn schema_version(
        &self,
    ) -> Result<latchkey_domain::store::SchemaVersion, latchkey_domain::StoreError> {
        maintenance::schema_version(&self.db).await
    }
}
