//! Resources. Deleting one removes its dependency links, `when_accessing` conditions and grants
//! (by cascade) and clears the zone's `default_resource_id` when it pointed here.

use async_trait::async_trait;
use latchkey_domain::id::{ApplicationId, OrganizationId, ProviderId, ResourceId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::directory::{ApplicationType, Resource};
use latchkey_domain::store::{ResourceFilter, ResourceStore};
use latchkey_domain::{Page, PageRequest, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{
    Arg, Filter, Sql, TableSpec, flag, get_json, get_one, insert_row, json, list_page, parsed,
    touched, ts, unique_slug, update_row,
};

const COLUMNS: &str = "zone_id, id, organization_id, identifier, name, slug, owner_type, application_id, \
    application_type, credential_lifetime_seconds, credential_provider_id, description, metadata, prefix, scopes, \
    created_at, updated_at";

const SPEC: TableSpec = TableSpec {
    table: "resources",
    columns: COLUMNS,
    sortable: crate::sql::BY_NAME,
    fields: &[
        ("identifier", "identifier"),
        ("slug", "slug"),
        ("name", "name"),
    ],
};

fn application_type(s: &str) -> Option<ApplicationType> {
    match s {
        "native" => Some(ApplicationType::Native),
        "web" => Some(ApplicationType::Web),
        _ => None,
    }
}

fn application_type_str(t: ApplicationType) -> &'static str {
    match t {
        ApplicationType::Native => "native",
        ApplicationType::Web => "web",
    }
}

fn from_row(row: &AnyRow) -> Result<Resource, sqlx::Error> {
    Ok(Resource {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: ResourceId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        application_id: row
            .try_get::<Option<String>, _>("application_id")?
            .map(ApplicationId::new),
        application_type: parsed(row, "application_type", application_type)?,
        credential_lifetime_seconds: row.try_get("credential_lifetime_seconds")?,
        credential_provider_id: row
            .try_get::<Option<String>, _>("credential_provider_id")?
            .map(ProviderId::new),
        description: row.try_get("description")?,
        metadata: get_json(row, "metadata")?,
        prefix: flag(row, "prefix")?,
        scopes: get_json(row, "scopes")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn values(r: &Resource) -> Vec<(&'static str, Arg)> {
    vec![
        ("identifier", (&r.identifier).into()),
        ("name", (&r.name).into()),
        (
            "application_id",
            r.application_id
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .into(),
        ),
        (
            "application_type",
            application_type_str(r.application_type).into(),
        ),
        (
            "credential_lifetime_seconds",
            r.credential_lifetime_seconds.into(),
        ),
        (
            "credential_provider_id",
            r.credential_provider_id
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .into(),
        ),
        ("description", (&r.description).into()),
        ("metadata", json(r.metadata.as_ref())),
        ("prefix", r.prefix.into()),
        ("scopes", json(r.scopes.as_ref())),
        ("updated_at", r.updated_at.millis().into()),
    ]
}

/// One resource of a zone.
pub(crate) async fn get(
    pool: &sqlx::AnyPool,
    zone: &ZoneId,
    id: &ResourceId,
) -> Result<Option<Resource>, StoreError> {
    get_one(pool, &SPEC, zone, id.as_str(), from_row).await
}

/// A page of resources matching `filter` (which must restrict the zone).
pub(crate) async fn list(
    pool: &sqlx::AnyPool,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<Resource>, StoreError> {
    list_page(pool, &SPEC, filter, page, from_row).await
}

/// `application_id IN (apps of the zone having every trait of one group)`, OR over groups.
fn traits_condition(zone: &ZoneId, groups: &[Vec<String>]) -> (String, Vec<Arg>) {
    let mut ors = Vec::new();
    let mut args = Vec::new();
    for group in groups {
        let mut ands = vec!["zone_id = ?".to_owned()];
        args.push(zone.as_str().into());
        for t in group {
            ands.push("traits LIKE ?".to_owned());
            args.push(Arg::Text(format!(
                "%\"{}\"%",
                t.replace(['%', '_', '"', '\\'], "")
            )));
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    (
        format!(
            "application_id IN (SELECT id FROM applications WHERE {})",
            ors.join(" OR ")
        ),
        args,
    )
}

#[async_trait]
impl ResourceStore for SqlStore {
    async fn create_resource(&self, mut r: Resource) -> Result<Resource, StoreError> {
        let mut w = self.db.write().await?;
        r.slug = unique_slug(
            &self.db,
            &mut w.tx,
            "resources",
            "slug",
            Some(("zone_id", r.zone_id.as_str())),
            &r.slug,
        )
        .await?;
        let mut row = vec![
            ("zone_id", r.zone_id.as_str().into()),
            ("id", r.id.as_str().into()),
            ("organization_id", r.organization_id.as_str().into()),
            ("slug", (&r.slug).into()),
            ("owner_type", r.owner_type.as_str().into()),
            ("created_at", r.created_at.millis().into()),
        ];
        row.extend(values(&r));
        insert_row("resources", row)
            .query()
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(r)
    }

    async fn get_resource(
        &self,
        zone: &ZoneId,
        id: &ResourceId,
    ) -> Result<Option<Resource>, StoreError> {
        get(self.db.pool(), zone, id).await
    }

    async fn list_resources(
        &self,
        zone: &ZoneId,
        filter: &ResourceFilter,
        page: &PageRequest,
    ) -> Result<Page<Resource>, StoreError> {
        let mut f = SPEC
            .apply_searched(
                &self.db,
                Filter::default().eq("zone_id", zone.as_str()),
                &filter.list,
            )
            .await?;
        f = f.eq_opt(
            "application_id",
            filter.application_id.as_ref().map(|a| a.as_str()),
        );
        f = f.eq_opt(
            "credential_provider_id",
            filter.credential_provider_id.as_ref().map(|p| p.as_str()),
        );
        f = f.eq_opt("owner_type", filter.owner_type.map(|o| o.as_str()));
        f = f.eq_opt("prefix", filter.prefix);
        if !filter.traits.is_empty() {
            let (cond, args) = traits_condition(zone, &filter.traits);
            f = f.raw(&cond, args);
        }
        list(self.db.pool(), &f, page).await
    }

    async fn update_resource(&self, r: &Resource) -> Result<(), StoreError> {
        let keys = vec![
            ("zone_id", r.zone_id.as_str().into()),
            ("id", r.id.as_str().into()),
        ];
        if !touched(self.db.pool(), &update_row("resources", values(r), keys)).await? {
            return Err(StoreError::NotFound(format!("resource `{}`", r.id)));
        }
        Ok(())
    }

    async fn delete_resource(&self, zone: &ZoneId, id: &ResourceId) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        sqlx::query("UPDATE zones SET default_resource_id = NULL WHERE id = $1 AND default_resource_id = $2")
            .bind(zone.as_str().to_owned())
            .bind(id.as_str().to_owned())
            .execute(&mut *w.tx)
            .await
            .store()?;
        let mut sql = Sql::new("DELETE FROM resources WHERE zone_id = ");
        sql.bind(zone.as_str()).push(" AND id = ").bind(id.as_str());
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }
}
