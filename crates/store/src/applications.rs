//! Applications and their dependencies. `dependencies_count` is computed in the query, so it is
//! true by construction; dependency links and `when_accessing` conditions cascade from both ends.

use async_trait::async_trait;
use latchkey_domain::id::{ApplicationId, OrganizationId, ResourceId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::directory::{Application, Consent, Dependency};
use latchkey_domain::store::ApplicationStore;
use latchkey_domain::{ListFilter, Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::resources;
use crate::sql::{
    Arg, BY_NAME, Filter, Sql, TableSpec, get_json, insert_row, json, list_page, parsed, touched,
    ts, unique_slug, update_row,
};

const COLUMNS: &str = "zone_id, id, organization_id, identifier, name, slug, owner_type, consent, description, \
    metadata, redirect_uris, post_logout_redirect_uris, traits, created_at, updated_at, \
    (SELECT COUNT(*) FROM application_dependencies d WHERE d.zone_id = applications.zone_id \
     AND d.application_id = applications.id) AS dependencies_count";

const SPEC: TableSpec = TableSpec {
    table: "applications",
    columns: COLUMNS,
    sortable: BY_NAME,
    fields: &[
        ("identifier", "identifier"),
        ("slug", "slug"),
        ("name", "name"),
    ],
};

fn consent(s: &str) -> Option<Consent> {
    match s {
        "implicit" => Some(Consent::Implicit),
        "required" => Some(Consent::Required),
        _ => None,
    }
}

fn consent_str(c: Consent) -> &'static str {
    match c {
        Consent::Implicit => "implicit",
        Consent::Required => "required",
    }
}

fn from_row(row: &AnyRow) -> Result<Application, sqlx::Error> {
    Ok(Application {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: ApplicationId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        consent: parsed(row, "consent", consent)?,
        description: row.try_get("description")?,
        metadata: get_json(row, "metadata")?,
        redirect_uris: get_json(row, "redirect_uris")?,
        post_logout_redirect_uris: get_json(row, "post_logout_redirect_uris")?,
        traits: get_json(row, "traits")?.unwrap_or_default(),
        dependencies_count: u32::try_from(row.try_get::<i64, _>("dependencies_count")?)
            .unwrap_or(0),
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn keys(zone: &ZoneId, id: &ApplicationId) -> Vec<(&'static str, Arg)> {
    vec![
        ("zone_id", zone.as_str().into()),
        ("id", id.as_str().into()),
    ]
}

/// Inserts the dependency rows `app → resource` with its conditions, inside `tx`.
async fn insert_dependency(
    tx: &mut sqlx::AnyConnection,
    zone: &ZoneId,
    app: &ApplicationId,
    resource: &ResourceId,
    when: &[ResourceId],
) -> Result<(), StoreError> {
    let now = Timestamp::now().millis();
    let row = vec![
        ("zone_id", zone.as_str().into()),
        ("application_id", app.as_str().into()),
        ("resource_id", resource.as_str().into()),
        ("created_at", now.into()),
    ];
    insert_row("application_dependencies", row)
        .query()
        .execute(&mut *tx)
        .await
        .store()?;
    for w in when {
        let cond = vec![
            ("zone_id", zone.as_str().into()),
            ("application_id", app.as_str().into()),
            ("resource_id", resource.as_str().into()),
            ("when_resource_id", w.as_str().into()),
        ];
        insert_row("dependency_conditions", cond)
            .query()
            .execute(&mut *tx)
            .await
            .store()?;
    }
    Ok(())
}

/// The `when_accessing` lists of `resources` as dependencies of `app`.
async fn conditions(
    pool: &sqlx::AnyPool,
    zone: &ZoneId,
    app: &ApplicationId,
    resources: &[ResourceId],
) -> Result<Vec<Vec<ResourceId>>, StoreError> {
    let mut out = vec![Vec::new(); resources.len()];
    if resources.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = resources.iter().map(|r| r.as_str().to_owned()).collect();
    let mut sql = Sql::new("SELECT resource_id, when_resource_id FROM dependency_conditions");
    Filter::default()
        .eq("zone_id", zone.as_str())
        .eq("application_id", app.as_str())
        .in_list("resource_id", &ids)
        .write(&mut sql, None);
    sql.push(" ORDER BY when_resource_id");
    for row in sql.query().fetch_all(pool).await.store()? {
        let r: String = row.try_get("resource_id").store()?;
        if let Some(i) = ids.iter().position(|x| *x == r) {
            out[i].push(ResourceId::new(
                row.try_get::<String, _>("when_resource_id").store()?,
            ));
        }
    }
    Ok(out)
}

#[async_trait]
impl ApplicationStore for SqlStore {
    async fn create_application(
        &self,
        app: Application,
        deps: &[ResourceId],
    ) -> Result<Application, StoreError> {
        let mut w = self.db.write().await?;
        let app = insert_application(&self.db, &mut w.tx, app, deps).await?;
        w.commit().await?;
        Ok(app)
    }

    async fn get_application(
        &self,
        zone: &ZoneId,
        id: &ApplicationId,
    ) -> Result<Option<Application>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM applications"));
        Filter::default()
            .eq("zone_id", zone.as_str())
            .eq("id", id.as_str())
            .write(&mut sql, None);
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(from_row).transpose().store()
    }

    async fn list_applications(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Application>, StoreError> {
        let f = SPEC
            .apply_searched(
                &self.db,
                Filter::default().eq("zone_id", zone.as_str()),
                filter,
            )
            .await?;
        list_page(self.db.pool(), &SPEC, &f, page, from_row).await
    }

    async fn update_application(&self, app: &Application) -> Result<(), StoreError> {
        let set = vec![
            ("identifier", (&app.identifier).into()),
            ("name", (&app.name).into()),
            ("consent", consent_str(app.consent).into()),
            ("description", (&app.description).into()),
            ("metadata", json(app.metadata.as_ref())),
            ("redirect_uris", json(app.redirect_uris.as_ref())),
            (
                "post_logout_redirect_uris",
                json(app.post_logout_redirect_uris.as_ref()),
            ),
            ("traits", json(Some(&app.traits))),
            ("updated_at", app.updated_at.millis().into()),
        ];
        if !touched(
            self.db.pool(),
            &update_row("applications", set, keys(&app.zone_id, &app.id)),
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("application `{}`", app.id)));
        }
        Ok(())
    }

    async fn delete_application(
        &self,
        zone: &ZoneId,
        id: &ApplicationId,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let z = zone.as_str().to_owned();
        let a = id.as_str().to_owned();
        for stmt in [
            "UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 AND client_id IN \
             (SELECT identifier FROM application_credentials WHERE zone_id = $1 AND application_id = $2)",
            "UPDATE resources SET application_id = NULL WHERE zone_id = $1 AND application_id = $2",
            "DELETE FROM sessions WHERE zone_id = $1 AND application_id = $2 AND session_type = 'application'",
            "UPDATE sessions SET application_id = NULL WHERE zone_id = $1 AND application_id = $2",
            "UPDATE zones SET default_mcp_gateway_application_id = NULL \
             WHERE id = $1 AND default_mcp_gateway_application_id = $2",
        ] {
            sqlx::query(stmt)
                .bind(z.clone())
                .bind(a.clone())
                .execute(&mut *w.tx)
                .await
                .store()?;
        }
        let sql = Sql::new("DELETE FROM applications WHERE zone_id = ")
            .bind(z)
            .push(" AND id = ")
            .bind(a)
            .clone();
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn put_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
        when: &[ResourceId],
    ) -> Result<(), StoreError> {
        let mut w = self.db.write().await?;
        sqlx::query("DELETE FROM application_dependencies WHERE zone_id = $1 AND application_id = $2 AND resource_id = $3")
            .bind(zone.as_str().to_owned())
            .bind(app.as_str().to_owned())
            .bind(resource.as_str().to_owned())
            .execute(&mut *w.tx)
            .await
            .store()?;
        insert_dependency(&mut w.tx, zone, app, resource, when).await?;
        w.commit().await
    }

    async fn get_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> Result<Option<Dependency>, StoreError> {
        let linked = sqlx::query(
            "SELECT 1 AS one FROM application_dependencies WHERE zone_id = $1 AND application_id = $2 AND resource_id = $3",
        )
        .bind(zone.as_str().to_owned())
        .bind(app.as_str().to_owned())
        .bind(resource.as_str().to_owned())
        .fetch_optional(self.db.pool())
        .await
        .store()?;
        if linked.is_none() {
            return Ok(None);
        }
        let Some(r) = resources::get(self.db.pool(), zone, resource).await? else {
            return Ok(None);
        };
        let when = conditions(self.db.pool(), zone, app, std::slice::from_ref(resource)).await?;
        Ok(Some(Dependency {
            resource: r,
            when_accessing: when.into_iter().next().unwrap_or_default(),
        }))
    }

    async fn list_dependencies(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        when_accessing: Option<&ResourceId>,
        page: &PageRequest,
    ) -> Result<Page<Dependency>, StoreError> {
        let z = Arg::from(zone.as_str());
        let a = Arg::from(app.as_str());
        let mut f = Filter::default().eq("zone_id", zone.as_str()).raw(
            "id IN (SELECT resource_id FROM application_dependencies WHERE zone_id = ? AND application_id = ?)",
            vec![z.clone(), a.clone()],
        );
        if let Some(w) = when_accessing {
            f = f.raw(
                "id IN (SELECT resource_id FROM dependency_conditions WHERE zone_id = ? AND application_id = ? \
                 AND when_resource_id = ?)",
                vec![z, a, w.as_str().into()],
            );
        }
        let page = resources::list(self.db.pool(), &f, page).await?;
        let ids: Vec<ResourceId> = page.items.iter().map(|r| r.id.clone()).collect();
        let mut when = conditions(self.db.pool(), zone, app, &ids)
            .await?
            .into_iter();
        Ok(page.map(|resource| Dependency {
            resource,
            when_accessing: when.next().unwrap_or_default(),
        }))
    }

    async fn delete_dependency(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let mut sql = Sql::new("DELETE FROM application_dependencies WHERE zone_id = ");
        sql.bind(zone.as_str())
            .push(" AND application_id = ")
            .bind(app.as_str());
        sql.push(" AND resource_id = ").bind(resource.as_str());
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn dependency_conditions(
        &self,
        zone: &ZoneId,
        app: &ApplicationId,
        resource: &ResourceId,
    ) -> Result<Option<Vec<ResourceId>>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.when_resource_id AS w FROM application_dependencies d \
             LEFT JOIN dependency_conditions c ON c.zone_id = d.zone_id \
               AND c.application_id = d.application_id AND c.resource_id = d.resource_id \
             WHERE d.zone_id = $1 AND d.application_id = $2 AND d.resource_id = $3",
        )
        .bind(zone.as_str().to_owned())
        .bind(app.as_str().to_owned())
        .bind(resource.as_str().to_owned())
        .fetch_all(self.db.pool())
        .await
        .store()?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut when = Vec::new();
        for row in rows {
            if let Some(w) = row.try_get::<Option<String>, _>("w").store()? {
                when.push(ResourceId::new(w));
            }
        }
        Ok(Some(when))
    }
}

/// Inserts an application (slug made unique in the zone) and its initial dependencies, inside the
/// caller's transaction.
pub(crate) async fn insert_application(
    db: &crate::Db,
    tx: &mut sqlx::AnyConnection,
    mut app: Application,
    deps: &[ResourceId],
) -> Result<Application, StoreError> {
    let scope = Some(("zone_id", app.zone_id.as_str()));
    app.slug = unique_slug(db, tx, "applications", "slug", scope, &app.slug).await?;
    let row = vec![
        ("zone_id", app.zone_id.as_str().into()),
        ("id", app.id.as_str().into()),
        ("organization_id", app.organization_id.as_str().into()),
        ("identifier", (&app.identifier).into()),
        ("name", (&app.name).into()),
        ("slug", (&app.slug).into()),
        ("owner_type", app.owner_type.as_str().into()),
        ("consent", consent_str(app.consent).into()),
        ("description", (&app.description).into()),
        ("metadata", json(app.metadata.as_ref())),
        ("redirect_uris", json(app.redirect_uris.as_ref())),
        (
            "post_logout_redirect_uris",
            json(app.post_logout_redirect_uris.as_ref()),
        ),
        ("traits", json(Some(&app.traits))),
        ("created_at", app.created_at.millis().into()),
        ("updated_at", app.updated_at.millis().into()),
    ];
    insert_row("applications", row)
        .query()
        .execute(&mut *tx)
        .await
        .store()?;
    for d in deps {
        insert_dependency(tx, &app.zone_id, &app.id, d, &[]).await?;
    }
    app.dependencies_count = u32::try_from(deps.len()).unwrap_or(u32::MAX);
    Ok(app)
}
