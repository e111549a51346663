//! Application credentials, the five-way union on `type`. Client ids (the identifiers of every
//! type but `token`) are unique per zone through the `client_id` column, which is null for token
//! credentials whose identifier is a subject or `*`.

use async_trait::async_trait;
use latchkey_domain::id::{AppCredentialId, ApplicationId, OrganizationId, ProviderId, ZoneId};
use latchkey_domain::model::directory::{AppCredential, CredentialKind};
use latchkey_domain::store::CredentialStore;
use latchkey_domain::{ListFilter, Page, PageRequest, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{
    Arg, BY_CREATED, Filter, Sql, TableSpec, insert_row, list_page, parsed, touched, ts,
    unique_slug, update_row,
};

const COLUMNS: &str = "zone_id, id, organization_id, application_id, type, identifier, slug, subject, provider_id, \
    jwks_uri, secret_hash, created_at, updated_at";

const SPEC: TableSpec = TableSpec {
    table: "application_credentials",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[
        ("slug", "slug"),
        ("identifier", "identifier"),
        ("type", "type"),
    ],
};

fn from_row(row: &AnyRow) -> Result<AppCredential, sqlx::Error> {
    Ok(AppCredential {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: AppCredentialId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        application_id: ApplicationId::new(row.try_get::<String, _>("application_id")?),
        kind: parsed(row, "type", CredentialKind::parse)?,
        identifier: row.try_get("identifier")?,
        slug: row.try_get("slug")?,
        subject: row.try_get("subject")?,
        provider_id: row
            .try_get::<Option<String>, _>("provider_id")?
            .map(ProviderId::new),
        jwks_uri: row.try_get("jwks_uri")?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn values(c: &AppCredential) -> Vec<(&'static str, Arg)> {
    let client_id = c.kind.is_client_id().then(|| c.identifier.clone());
    vec![
        ("identifier", (&c.identifier).into()),
        ("client_id", client_id.into()),
        ("subject", (&c.subject).into()),
        (
            "provider_id",
            c.provider_id.as_ref().map(|p| p.as_str().to_owned()).into(),
        ),
        ("jwks_uri", (&c.jwks_uri).into()),
        ("secret_hash", (&c.secret_hash).into()),
        ("updated_at", c.updated_at.millis().into()),
    ]
}

async fn find(
    pool: &sqlx::AnyPool,
    zone: &ZoneId,
    column: &str,
    value: &str,
) -> Result<Option<AppCredential>, StoreError> {
    let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM application_credentials"));
    Filter::default()
        .eq("zone_id", zone.as_str())
        .eq(column, value)
        .write(&mut sql, None);
    let row = sql.query().fetch_optional(pool).await.store()?;
    row.as_ref().map(from_row).transpose().store()
}

#[async_trait]
impl CredentialStore for SqlStore {
    async fn create_app_credential(
        &self,
        mut c: AppCredential,
    ) -> Result<AppCredential, StoreError> {
        let mut w = self.db.write().await?;
        let scope = Some(("zone_id", c.zone_id.as_str()));
        c.slug = unique_slug(
            &self.db,
            &mut w.tx,
            "application_credentials",
            "slug",
            scope,
            &c.slug,
        )
        .await?;
        let mut row = vec![
            ("zone_id", c.zone_id.as_str().into()),
            ("id", c.id.as_str().into()),
            ("organization_id", c.organization_id.as_str().into()),
            ("application_id", c.application_id.as_str().into()),
            ("type", c.kind.as_str().into()),
            ("slug", (&c.slug).into()),
            ("created_at", c.created_at.millis().into()),
        ];
        row.extend(values(&c));
        insert_row("application_credentials", row)
            .query()
            .execute(&mut *w.tx)
            .await
            .store()?;
        w.commit().await?;
        Ok(c)
    }

    async fn get_app_credential(
        &self,
        zone: &ZoneId,
        id: &AppCredentialId,
    ) -> Result<Option<AppCredential>, StoreError> {
        find(self.db.pool(), zone, "id", id.as_str()).await
    }

    async fn list_app_credentials(
        &self,
        zone: &ZoneId,
        application: Option<&ApplicationId>,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<AppCredential>, StoreError> {
        let f = Filter::default()
            .eq("zone_id", zone.as_str())
            .eq_opt("application_id", application.map(|a| a.as_str()));
        let f = SPEC.apply(self.db.backend(), f, filter)?;
        list_page(self.db.pool(), &SPEC, &f, page, from_row).await
    }

    async fn update_app_credential(&self, c: &AppCredential) -> Result<(), StoreError> {
        let keys = vec![
            ("zone_id", c.zone_id.as_str().into()),
            ("id", c.id.as_str().into()),
        ];
        if !touched(
            self.db.pool(),
            &update_row("application_credentials", values(c), keys),
        )
        .await?
        {
            return Err(StoreError::NotFound(format!(
                "application credential `{}`",
                c.id
            )));
        }
        Ok(())
    }

    async fn delete_app_credential(
        &self,
        zone: &ZoneId,
        id: &AppCredentialId,
    ) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        // Nothing issued to the credential may be refreshed once it is gone, even if a new
        // credential later claims the same client id (a URL credential, for instance).
        sqlx::query(
            "UPDATE refresh_tokens SET revoked = 1 WHERE zone_id = $1 AND client_id IN \
             (SELECT identifier FROM application_credentials WHERE zone_id = $1 AND id = $2)",
        )
        .bind(zone.as_str().to_owned())
        .bind(id.as_str().to_owned())
        .execute(&mut *w.tx)
        .await
        .store()?;
        let mut sql = Sql::new("DELETE FROM application_credentials WHERE zone_id = ");
        sql.bind(zone.as_str()).push(" AND id = ").bind(id.as_str());
        let done = touched(&mut *w.tx, &sql).await?;
        w.commit().await?;
        Ok(done)
    }

    async fn find_app_credential_by_client_id(
        &self,
        zone: &ZoneId,
        client_id: &str,
    ) -> Result<Option<AppCredential>, StoreError> {
        find(self.db.pool(), zone, "client_id", client_id).await
    }
}
