//! API keys and the resolution of a bearer token's keyed hash to its principal.

use async_trait::async_trait;
use latchkey_domain::id::{ApiKeyId, OrganizationId, ServiceAccountId};
use latchkey_domain::model::access::{ApiKey, Principal};
use latchkey_domain::store::AccessStore;
use latchkey_domain::{StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{Sql, flag};

const COLUMNS: &str = "id, organization_id, name, key_hash, platform_admin, created_at";

fn from_row(row: &AnyRow) -> Result<ApiKey, sqlx::Error> {
    Ok(ApiKey {
        id: ApiKeyId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        name: row.try_get("name")?,
        key_hash: row.try_get("key_hash")?,
        platform_admin: flag(row, "platform_admin")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn insert_sql(k: &ApiKey) -> Sql {
    let mut sql = Sql::new(format!("INSERT INTO api_keys ({COLUMNS}) VALUES ("));
    sql.bind(k.id.as_str())
        .push(", ")
        .bind(k.organization_id.as_str())
        .push(", ")
        .bind(&k.name);
    sql.push(", ")
        .bind(&k.key_hash)
        .push(", ")
        .bind(k.platform_admin)
        .push(", ")
        .bind(k.created_at.millis());
    sql.push(")");
    sql
}

#[async_trait]
impl AccessStore for SqlStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        insert_sql(key)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn replace_named_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        let existing =
            sqlx::query("SELECT key_hash FROM api_keys WHERE organization_id = $1 AND name = $2")
                .bind(key.organization_id.as_str().to_owned())
                .bind(key.name.clone())
                .fetch_all(&mut *w.tx)
                .await
                .store()?;
        let same = existing.len() == 1
            && existing[0].try_get::<String, _>("key_hash").store()? == key.key_hash;
        if !same {
            sqlx::query("DELETE FROM api_keys WHERE organization_id = $1 AND name = $2")
                .bind(key.organization_id.as_str().to_owned())
                .bind(key.name.clone())
                .execute(&mut *w.tx)
                .await
                .store()?;
            insert_sql(key).query().execute(&mut *w.tx).await.store()?;
        }
        w.commit().await
    }

    async fn count_api_keys(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM api_keys")
            .fetch_one(self.db.pool())
            .await
            .store()?;
        Ok(u64::try_from(row.try_get::<i64, _>("n").store()?).unwrap_or(0))
    }

    async fn find_principal(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Principal>, StoreError> {
        let pool = self.db.pool();
        let key = sqlx::query(
            "SELECT id, organization_id, platform_admin FROM api_keys WHERE key_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(pool)
        .await
        .store()?;
        if let Some(row) = key {
            return Ok(Some(Principal::ApiKey {
                id: ApiKeyId::new(row.try_get::<String, _>("id").store()?),
                organization_id: OrganizationId::new(
                    row.try_get::<String, _>("organization_id").store()?,
                ),
                platform_admin: flag(&row, "platform_admin").store()?,
            }));
        }
        let token = sqlx::query(
            "SELECT organization_id, service_account_id FROM service_account_tokens \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash.to_owned())
        .bind(now.millis())
        .fetch_optional(pool)
        .await
        .store()?;
        token
            .map(|row| {
                Ok(Principal::ServiceAccount {
                    organization_id: OrganizationId::new(
                        row.try_get::<String, _>("organization_id")?,
                    ),
                    service_account_id: ServiceAccountId::new(
                        row.try_get::<String, _>("service_account_id")?,
                    ),
                })
            })
            .transpose()
            .store()
    }

    async fn get_api_key(&self, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM api_keys WHERE id = "));
        sql.bind(id.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }
}
