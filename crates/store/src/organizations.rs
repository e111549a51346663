//! Organizations: rows of `organizations`, created together with their platform zone.

use async_trait::async_trait;
use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::OrganizationStore;
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{BY_CREATED, Filter, Sql, TableSpec, flag, list_page, unique_slug};
use crate::zones;

const COLUMNS: &str = "id, name, label, sso_enabled, zone_id, created_at, updated_at";

const SPEC: TableSpec = TableSpec {
    table: "organizations",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn from_row(row: &AnyRow) -> Result<Organization, sqlx::Error> {
    Ok(Organization {
        id: OrganizationId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        label: row.try_get("label")?,
        sso_enabled: flag(row, "sso_enabled")?,
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

impl SqlStore {
    async fn find_organization(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM organizations WHERE {column} = "
        ));
        sql.bind(value);
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }
}

#[async_trait]
impl OrganizationStore for SqlStore {
    async fn create_organization(
        &self,
        mut org: Organization,
        platform_zone: Zone,
    ) -> Result<Organization, StoreError> {
        let mut w = self.db.write().await?;
        org.label = unique_slug(
            &self.db,
            &mut w.tx,
            "organizations",
            "label",
            None,
            &org.label,
        )
        .await?;
        let mut sql = Sql::new(format!("INSERT INTO organizations ({COLUMNS}) VALUES ("));
        sql.bind(org.id.as_str())
            .push(", ")
            .bind(&org.name)
            .push(", ")
            .bind(&org.label)
            .push(", ");
        sql.bind(org.sso_enabled)
            .push(", ")
            .bind(org.zone_id.as_str())
            .push(", ");
        sql.bind(org.created_at.millis())
            .push(", ")
            .bind(org.updated_at.millis())
            .push(")");
        sql.query().execute(&mut *w.tx).await.store()?;
        zones::insert(&self.db, &mut w.tx, platform_zone).await?;
        w.commit().await?;
        Ok(org)
    }

    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        self.find_organization("id", id.as_str()).await
    }

    async fn find_organization_by_label(
        &self,
        label: &str,
    ) -> Result<Option<Organization>, StoreError> {
        self.find_organization("label", label).await
    }

    async fn list_organizations(
        &self,
        only: Option<&OrganizationId>,
        page: &PageRequest,
    ) -> Result<Page<Organization>, StoreError> {
        let f = Filter::default().eq_opt("id", only.map(|o| o.as_str()));
        list_page(self.db.pool(), &SPEC, &f, page, from_row).await
    }

    async fn update_organization(&self, org: &Organization) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE organizations SET name = ");
        sql.bind(&org.name)
            .push(", sso_enabled = ")
            .bind(org.sso_enabled);
        sql.push(", updated_at = ")
            .bind(org.updated_at.millis())
            .push(" WHERE id = ")
            .bind(org.id.as_str());
        let done = sql.query().execute(self.db.pool()).await.store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("organization `{}`", org.id)));
        }
        Ok(())
    }
}
