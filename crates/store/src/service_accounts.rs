//! Service accounts, their credentials and the access tokens those credentials issued. Every
//! query carries the organization id; credentials and tokens cascade from their account.

use async_trait::async_trait;
use latchkey_domain::id::{CredentialId, OrganizationId, ServiceAccountId};
use latchkey_domain::model::access::ServiceAccountToken;
use latchkey_domain::model::service_account::{ServiceAccount, ServiceAccountCredential};
use latchkey_domain::store::ServiceAccountStore;
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{BY_CREATED, Filter, Sql, TableSpec, list_page};

const SA_COLUMNS: &str = "organization_id, id, name, description, created_at, updated_at";
const CRED_COLUMNS: &str = "organization_id, service_account_id, id, name, description, client_id, \
    secret_hash, last_used_at, created_at, updated_at";

const SA_SPEC: TableSpec = TableSpec {
    table: "service_accounts",
    columns: SA_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
const CRED_SPEC: TableSpec = TableSpec {
    table: "service_account_credentials",
    columns: CRED_COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn sa_from_row(row: &AnyRow) -> Result<ServiceAccount, sqlx::Error> {
    Ok(ServiceAccount {
        id: ServiceAccountId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn cred_from_row(row: &AnyRow) -> Result<ServiceAccountCredential, sqlx::Error> {
    Ok(ServiceAccountCredential {
        id: CredentialId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        service_account_id: ServiceAccountId::new(row.try_get::<String, _>("service_account_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        client_id: row.try_get("client_id")?,
        secret_hash: row.try_get("secret_hash")?,
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn sa_filter(org: &OrganizationId) -> Filter {
    Filter::default().eq("organization_id", org.as_str())
}

fn cred_filter(org: &OrganizationId, sa: &ServiceAccountId) -> Filter {
    sa_filter(org).eq("service_account_id", sa.as_str())
}

#[async_trait]
impl ServiceAccountStore for SqlStore {
    async fn create_service_account(&self, sa: &ServiceAccount) -> Result<(), StoreError> {
        let mut sql = Sql::new(format!(
            "INSERT INTO service_accounts ({SA_COLUMNS}) VALUES ("
        ));
        sql.bind(sa.organization_id.as_str())
            .push(", ")
            .bind(sa.id.as_str())
            .push(", ")
            .bind(&sa.name);
        sql.push(", ")
            .bind(&sa.description)
            .push(", ")
            .bind(sa.created_at.millis());
        sql.push(", ").bind(sa.updated_at.millis()).push(")");
        sql.query().execute(self.db.pool()).await.store()?;
        Ok(())
    }

    async fn get_service_account(
        &self,
        org: &OrganizationId,
        id: &ServiceAccountId,
    ) -> Result<Option<ServiceAccount>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {SA_COLUMNS} FROM service_accounts WHERE organization_id = "
        ));
        sql.bind(org.as_str()).push(" AND id = ").bind(id.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(sa_from_row).transpose().store()
    }

    async fn list_service_accounts(
        &self,
        org: &OrganizationId,
        page: &PageRequest,
    ) -> Result<Page<ServiceAccount>, StoreError> {
        list_page(self.db.pool(), &SA_SPEC, &sa_filter(org), page, sa_from_row).await
    }

    async fn update_service_account(&self, sa: &ServiceAccount) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE service_accounts SET name = ");
        sql.bind(&sa.name)
            .push(", description = ")
            .bind(&sa.description);
        sql.push(", updated_at = ").bind(sa.updated_at.millis());
        sql.push(" WHERE organization_id = ")
            .bind(sa.organization_id.as_str())
            .push(" AND id = ")
            .bind(sa.id.as_str());
        let done = sql.query().execute(self.db.pool()).await.store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("service account `{}`", sa.id)));
        }
        Ok(())
    }

    async fn delete_service_account(
        &self,
        org: &OrganizationId,
        id: &ServiceAccountId,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("DELETE FROM service_accounts WHERE organization_id = ");
        sql.bind(org.as_str()).push(" AND id = ").bind(id.as_str());
        let done = sql.query().execute(&mut *w.tx).await.store()?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_credential(&self, c: &ServiceAccountCredential) -> Result<(), StoreError> {
        let mut sql = Sql::new(format!(
            "INSERT INTO service_account_credentials ({CRED_COLUMNS}) VALUES ("
        ));
        sql.bind(c.organization_id.as_str())
            .push(", ")
            .bind(c.service_account_id.as_str())
            .push(", ");
        sql.bind(c.id.as_str())
            .push(", ")
            .bind(&c.name)
            .push(", ")
            .bind(&c.description)
            .push(", ");
        sql.bind(&c.client_id)
            .push(", ")
            .bind(&c.secret_hash)
            .push(", ");
        sql.bind(c.last_used_at.map(Timestamp::millis)).push(", ");
        sql.bind(c.created_at.millis())
            .push(", ")
            .bind(c.updated_at.millis())
            .push(")");
        sql.query().execute(self.db.pool()).await.store()?;
        Ok(())
    }

    async fn get_credential(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        id: &CredentialId,
    ) -> Result<Option<ServiceAccountCredential>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {CRED_COLUMNS} FROM service_account_credentials WHERE organization_id = "
        ));
        sql.bind(org.as_str())
            .push(" AND service_account_id = ")
            .bind(sa.as_str());
        sql.push(" AND id = ").bind(id.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(cred_from_row).transpose().store()
    }

    async fn list_credentials(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        page: &PageRequest,
    ) -> Result<Page<ServiceAccountCredential>, StoreError> {
        let f = cred_filter(org, sa);
        list_page(self.db.pool(), &CRED_SPEC, &f, page, cred_from_row).await
    }

    async fn update_credential(&self, c: &ServiceAccountCredential) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE service_account_credentials SET name = ");
        sql.bind(&c.name)
            .push(", description = ")
            .bind(&c.description);
        sql.push(", updated_at = ").bind(c.updated_at.millis());
        sql.push(" WHERE organization_id = ")
            .bind(c.organization_id.as_str());
        sql.push(" AND service_account_id = ")
            .bind(c.service_account_id.as_str())
            .push(" AND id = ")
            .bind(c.id.as_str());
        let done = sql.query().execute(self.db.pool()).await.store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("credential `{}`", c.id)));
        }
        Ok(())
    }

    async fn delete_credential(
        &self,
        org: &OrganizationId,
        sa: &ServiceAccountId,
        id: &CredentialId,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("DELETE FROM service_account_credentials WHERE organization_id = ");
        sql.bind(org.as_str())
            .push(" AND service_account_id = ")
            .bind(sa.as_str())
            .push(" AND id = ")
            .bind(id.as_str());
        let done = sql.query().execute(&mut *w.tx).await.store()?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn find_credential_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<ServiceAccountCredential>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {CRED_COLUMNS} FROM service_account_credentials WHERE client_id = "
        ));
        sql.bind(client_id);
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(cred_from_row).transpose().store()
    }

    async fn record_token_issued(&self, t: &ServiceAccountToken) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("UPDATE service_account_credentials SET last_used_at = ");
        sql.bind(t.created_at.millis())
            .push(" WHERE organization_id = ")
            .bind(t.organization_id.as_str());
        sql.push(" AND service_account_id = ")
            .bind(t.service_account_id.as_str());
        sql.push(" AND id = ").bind(t.credential_id.as_str());
        sql.query().execute(&mut *w.tx).await.store()?;
        // Expired tokens are swept here, where tokens are written anyway.
        sqlx::query("DELETE FROM service_account_tokens WHERE expires_at < $1")
            .bind(t.created_at.millis())
            .execute(&mut *w.tx)
            .await
            .store()?;
        let mut sql = Sql::new(
            "INSERT INTO service_account_tokens (token_hash, organization_id, service_account_id, credential_id, \
             expires_at, created_at) VALUES (",
        );
        sql.bind(&t.token_hash)
            .push(", ")
            .bind(t.organization_id.as_str())
            .push(", ");
        sql.bind(t.service_account_id.as_str())
            .push(", ")
            .bind(t.credential_id.as_str())
            .push(", ");
        sql.bind(t.expires_at.millis())
            .push(", ")
            .bind(t.created_at.millis())
            .push(")");
        sql.query().execute(&mut *w.tx).await.store()?;
        w.commit().await
    }
}
