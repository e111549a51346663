//! Server-wide settings kept in the `server_meta` table (the default organization id, the master
//! key check value).

use async_trait::async_trait;
use latchkey_domain::StoreError;
use latchkey_domain::store::MetaStore;
use sqlx::Row;

use crate::SqlStore;
use crate::error::OrStore;

#[async_trait]
impl MetaStore for SqlStore {
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM server_meta WHERE key = $1")
            .bind(key.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .store()?;
        row.map(|r| r.try_get::<String, _>("value"))
            .transpose()
            .store()
    }

    async fn init_meta(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.to_owned())
        .bind(value.to_owned())
        .execute(self.db.pool())
        .await
        .store()?;
        self.get_meta(key)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("meta `{key}` vanished")))
    }
}
