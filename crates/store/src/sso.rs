//! Organization SSO connections: rows of `sso_connections`, each written in one transaction with
//! the platform-zone provider it projects, the zone's `user_identity_provider_id` and the
//! organization's `sso_enabled` flag.

use async_trait::async_trait;
use latchkey_domain::StoreError;
use latchkey_domain::id::{OrganizationId, ProviderId, ZoneId};
use latchkey_domain::model::directory::Provider;
use latchkey_domain::model::sso::SsoConnection;
use latchkey_domain::store::SsoConnectionStore;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::providers;
use crate::sql::{Arg, Sql, get_json, insert_row, json, touched, ts, update_row};

const COLUMNS: &str = "organization_id, id, provider_id, identifier, client_id, client_secret, \
    protocols, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<SsoConnection, sqlx::Error> {
    Ok(SsoConnection {
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        id: row.try_get("id")?,
        provider_id: ProviderId::new(row.try_get::<String, _>("provider_id")?),
        identifier: row.try_get("identifier")?,
        client_id: row.try_get("client_id")?,
        client_secret: row.try_get("client_secret")?,
        protocols: get_json(row, "protocols")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn values(c: &SsoConnection) -> Vec<(&'static str, Arg)> {
    vec![
        ("identifier", (&c.identifier).into()),
        ("client_id", (&c.client_id).into()),
        ("client_secret", (&c.client_secret).into()),
        ("protocols", json(c.protocols.as_ref())),
        ("updated_at", c.updated_at.millis().into()),
    ]
}

/// Sets the organization's `sso_enabled` flag and points its platform zone's sign-in at
/// `provider` (or at nothing).
async fn mark(
    tx: &mut sqlx::AnyConnection,
    org: &OrganizationId,
    zone: &ZoneId,
    provider: Option<&ProviderId>,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE organizations SET sso_enabled = ");
    sql.bind(provider.is_some())
        .push(" WHERE id = ")
        .bind(org.as_str());
    if !touched(&mut *tx, &sql).await? {
        return Err(StoreError::NotFound(format!("organization `{org}`")));
    }
    let mut sql = Sql::new("UPDATE zones SET user_identity_provider_id = ");
    sql.bind(provider.map(|p| p.as_str().to_owned()))
        .push(" WHERE id = ")
        .bind(zone.as_str());
    sql.query().execute(&mut *tx).await.store()?;
    Ok(())
}

async fn zone_of(
    tx: &mut sqlx::AnyConnection,
    org: &OrganizationId,
) -> Result<Option<ZoneId>, StoreError> {
    let mut sql = Sql::new("SELECT zone_id FROM organizations WHERE id = ");
    sql.bind(org.as_str());
    let row = sql.query().fetch_optional(&mut *tx).await.store()?;
    row.map(|r| r.try_get::<String, _>("zone_id").map(ZoneId::new))
        .transpose()
        .store()
}

#[async_trait]
impl SsoConnectionStore for SqlStore {
    async fn get_sso_connection(
        &self,
        org: &OrganizationId,
    ) -> Result<Option<SsoConnection>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM sso_connections WHERE organization_id = "
        ));
        sql.bind(org.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }

    async fn enable_sso_connection(
        &self,
        c: &SsoConnection,
        provider: Provider,
    ) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        let mut row = vec![
            ("organization_id", c.organization_id.as_str().into()),
            ("id", c.id.as_str().into()),
            ("provider_id", c.provider_id.as_str().into()),
            ("created_at", c.created_at.millis().into()),
        ];
        row.extend(values(c));
        insert_row("sso_connections", row)
            .query()
            .execute(&mut *w.tx)
            .await
            .store()?;
        let zone = provider.zone_id.clone();
        providers::insert_in(&self.db, &mut w.tx, provider).await?;
        mark(&mut w.tx, &c.organization_id, &zone, Some(&c.provider_id)).await?;
        w.commit().await
    }

    async fn update_sso_connection(
        &self,
        c: &SsoConnection,
        provider: &Provider,
    ) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        let keys = vec![("organization_id", c.organization_id.as_str().into())];
        if !touched(&mut *w.tx, &update_row("sso_connections", values(c), keys)).await? {
            return Err(StoreError::NotFound(format!(
                "the SSO connection of organization `{}`",
                c.organization_id
            )));
        }
        providers::update_in(&mut *w.tx, provider).await?;
        w.commit().await
    }

    async fn disable_sso_connection(&self, org: &OrganizationId) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("DELETE FROM sso_connections WHERE organization_id = ");
        sql.bind(org.as_str()).push(" RETURNING provider_id");
        let Some(row) = sql.query().fetch_optional(&mut *w.tx).await.store()? else {
            return Ok(false);
        };
        let provider = ProviderId::new(row.try_get::<String, _>("provider_id").store()?);
        let Some(zone) = zone_of(&mut w.tx, org).await? else {
            return Ok(false);
        };
        providers::delete_in(&mut w.tx, &zone, &provider).await?;
        mark(&mut w.tx, org, &zone, None).await?;
        w.commit().await?;
        Ok(true)
    }
}
