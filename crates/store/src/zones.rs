//! Zones: rows of `zones`, keyed by id and scoped by organization. Everything a zone owns
//! references it with `ON DELETE CASCADE`, so deleting the row deletes the zone's contents.

use async_trait::async_trait;
use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::directory::Application;
use latchkey_domain::model::keys::StoredKey;
use latchkey_domain::model::zone::{Cimd, EncryptionKey, LoginFlow, Zone};
use latchkey_domain::store::{ZoneFilter, ZoneStore};
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::applications::insert_application;
use crate::error::OrStore;
use crate::sql::{BY_CREATED, Filter, Sql, TableSpec, flag, list_page, unique_slug};

const COLUMNS: &str = "id, organization_id, name, description, slug, owner_type, external_sync_enabled, \
    dcr_enabled, pkce_required, cimd_enabled, cimd_allowed_client_ids, requires_invitation, login_flow, \
    default_resource_id, default_mcp_gateway_application_id, user_identity_provider_id, \
    encryption_key_arn, signing_alg, created_at, updated_at";

const SPEC: TableSpec = TableSpec {
    table: "zones",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};

fn from_row(row: &AnyRow) -> Result<Zone, sqlx::Error> {
    let decode = |col: &str, e: String| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: e.into(),
    };
    let owner: String = row.try_get("owner_type")?;
    let login: String = row.try_get("login_flow")?;
    let cimd_ids: String = row.try_get("cimd_allowed_client_ids")?;
    Ok(Zone {
        id: ZoneId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        slug: row.try_get("slug")?,
        owner_type: OwnerType::parse(&owner).ok_or_else(|| decode("owner_type", owner.clone()))?,
        external_sync_enabled: flag(row, "external_sync_enabled")?,
        dcr_enabled: flag(row, "dcr_enabled")?,
        pkce_required: flag(row, "pkce_required")?,
        cimd: Cimd {
            enabled: flag(row, "cimd_enabled")?,
            allowed_client_ids: serde_json::from_str(&cimd_ids)
                .map_err(|e| decode("cimd_allowed_client_ids", e.to_string()))?,
        },
        requires_invitation: flag(row, "requires_invitation")?,
        login_flow: LoginFlow::parse(&login).ok_or_else(|| decode("login_flow", login.clone()))?,
        default_resource_id: row.try_get("default_resource_id")?,
        default_mcp_gateway_application_id: row.try_get("default_mcp_gateway_application_id")?,
        user_identity_provider_id: row.try_get("user_identity_provider_id")?,
        encryption_key: row
            .try_get::<Option<String>, _>("encryption_key_arn")?
            .map(|arn| EncryptionKey { arn }),
        signing_alg: row.try_get("signing_alg")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn cimd_json(zone: &Zone) -> String {
    serde_json::to_string(&zone.cimd.allowed_client_ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Inserts `zone` with a slug made unique within its organization, inside `tx`.
pub(crate) async fn insert(
    db: &crate::Db,
    tx: &mut sqlx::AnyConnection,
    mut zone: Zone,
) -> Result<Zone, StoreError> {
    zone.slug = unique_slug(
        db,
        tx,
        "zones",
        "slug",
        Some(("organization_id", zone.organization_id.as_str())),
        &zone.slug,
    )
    .await?;
    let mut sql = Sql::new(format!("INSERT INTO zones ({COLUMNS}) VALUES ("));
    sql.bind(zone.id.as_str())
        .push(", ")
        .bind(zone.organization_id.as_str())
        .push(", ");
    sql.bind(&zone.name)
        .push(", ")
        .bind(&zone.description)
        .push(", ")
        .bind(&zone.slug)
        .push(", ");
    sql.bind(zone.owner_type.as_str())
        .push(", ")
        .bind(zone.external_sync_enabled)
        .push(", ");
    sql.bind(zone.dcr_enabled)
        .push(", ")
        .bind(zone.pkce_required)
        .push(", ");
    sql.bind(zone.cimd.enabled)
        .push(", ")
        .bind(cimd_json(&zone))
        .push(", ");
    sql.bind(zone.requires_invitation)
        .push(", ")
        .bind(zone.login_flow.as_str())
        .push(", ");
    sql.bind(&zone.default_resource_id)
        .push(", ")
        .bind(&zone.default_mcp_gateway_application_id)
        .push(", ");
    sql.bind(&zone.user_identity_provider_id).push(", ");
    sql.bind(zone.encryption_key.as_ref().map(|k| k.arn.clone()))
        .push(", ");
    sql.bind(&zone.signing_alg).push(", ");
    sql.bind(zone.created_at.millis())
        .push(", ")
        .bind(zone.updated_at.millis())
        .push(")");
    sql.query().execute(&mut *tx).await.store()?;
    crate::providers::insert_platform(tx, &zone).await?;
    Ok(zone)
}

#[async_trait]
impl ZoneStore for SqlStore {
    async fn create_zone(&self, zone: Zone) -> Result<Zone, StoreError> {
        let mut w = self.db.write().await?;
        let zone = insert(&self.db, &mut w.tx, zone).await?;
        w.commit().await?;
        Ok(zone)
    }

    async fn create_zone_with(
        &self,
        zone: Zone,
        keys: &[StoredKey],
        gateway: Option<Application>,
    ) -> Result<(Zone, Option<Application>), StoreError> {
        let mut w = self.db.write().await?;
        let zone = insert(&self.db, &mut w.tx, zone).await?;
        for key in keys {
            crate::keys::insert(&mut w.tx, key).await?;
        }
        let gateway = match gateway {
            Some(app) => Some(insert_application(&self.db, &mut w.tx, app, &[]).await?),
            None => None,
        };
        w.commit().await?;
        Ok((zone, gateway))
    }

    async fn get_zone(&self, id: &ZoneId) -> Result<Option<Zone>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM zones WHERE id = "));
        sql.bind(id.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }

    async fn list_zones(
        &self,
        org: &OrganizationId,
        filter: &ZoneFilter,
        page: &PageRequest,
    ) -> Result<Page<Zone>, StoreError> {
        let mut f = Filter::default()
            .eq("organization_id", org.as_str())
            .eq_opt("slug", filter.slug.as_deref());
        if let Some(user) = &filter.member {
            f = f.raw(
                "id IN (SELECT zone_id FROM zone_members WHERE organization_user_id = ?)",
                vec![user.as_str().into()],
            );
        }
        list_page(self.db.pool(), &SPEC, &f, page, from_row).await
    }

    async fn update_zone(&self, zone: &Zone) -> Result<(), StoreError> {
        let mut sql = Sql::new("UPDATE zones SET name = ");
        sql.bind(&zone.name)
            .push(", description = ")
            .bind(&zone.description);
        sql.push(", external_sync_enabled = ")
            .bind(zone.external_sync_enabled);
        sql.push(", dcr_enabled = ")
            .bind(zone.dcr_enabled)
            .push(", pkce_required = ")
            .bind(zone.pkce_required);
        sql.push(", cimd_enabled = ")
            .bind(zone.cimd.enabled)
            .push(", cimd_allowed_client_ids = ")
            .bind(cimd_json(zone));
        sql.push(", requires_invitation = ")
            .bind(zone.requires_invitation);
        sql.push(", login_flow = ").bind(zone.login_flow.as_str());
        sql.push(", default_resource_id = ")
            .bind(&zone.default_resource_id);
        sql.push(", default_mcp_gateway_application_id = ")
            .bind(&zone.default_mcp_gateway_application_id);
        sql.push(", user_identity_provider_id = ")
            .bind(&zone.user_identity_provider_id);
        sql.push(", encryption_key_arn = ")
            .bind(zone.encryption_key.as_ref().map(|k| k.arn.clone()));
        sql.push(", signing_alg = ").bind(&zone.signing_alg);
        sql.push(", updated_at = ").bind(zone.updated_at.millis());
        sql.push(" WHERE id = ").bind(zone.id.as_str());
        let done = sql.query().execute(self.db.pool()).await.store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("zone `{}`", zone.id)));
        }
        Ok(())
    }

    async fn delete_zone(&self, id: &ZoneId) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let done = sqlx::query("DELETE FROM zones WHERE id = $1")
            .bind(id.as_str().to_owned())
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
