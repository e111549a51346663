//! Providers. Every zone is created with its platform-owned `keycard-sts` and `keycard-vault`
//! providers (`platform_rows`). A provider that credentials or resources use cannot be deleted.

use async_trait::async_trait;
use latchkey_domain::id::{OrganizationId, ProviderId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::directory::{Provider, ProviderType};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::ProviderStore;
use latchkey_domain::{ListFilter, Page, PageRequest, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{
    Arg, Filter, Sql, TableSpec, get_json, get_one, insert_row, json, list_page, parsed, touched,
    ts, unique_slug, update_row,
};

const COLUMNS: &str = "zone_id, id, organization_id, identifier, name, slug, owner_type, type, client_id, \
    client_secret, description, metadata, protocols, created_at, updated_at";

const SPEC: TableSpec = TableSpec {
    table: "providers",
    columns: COLUMNS,
    sortable: crate::sql::BY_NAME,
    fields: &[
        ("identifier", "identifier"),
        ("slug", "slug"),
        ("name", "name"),
        ("type", "type"),
    ],
};

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    icon_url: Option<String>,
}

fn from_row(row: &AnyRow) -> Result<Provider, sqlx::Error> {
    Ok(Provider {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: ProviderId::new(row.try_get::<String, _>("id")?),
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        identifier: row.try_get("identifier")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        kind: parsed(row, "type", ProviderType::parse)?,
        client_id: row.try_get("client_id")?,
        client_secret: row.try_get("client_secret")?,
        description: row.try_get("description")?,
        icon_url: get_json::<StoredMetadata>(row, "metadata")?.and_then(|m| m.icon_url),
        protocols: get_json(row, "protocols")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn values(p: &Provider) -> Vec<(&'static str, Arg)> {
    let metadata = p.icon_url.clone().map(|icon_url| StoredMetadata {
        icon_url: Some(icon_url),
    });
    vec![
        ("identifier", (&p.identifier).into()),
        ("name", (&p.name).into()),
        ("client_id", (&p.client_id).into()),
        ("client_secret", (&p.client_secret).into()),
        ("description", (&p.description).into()),
        ("metadata", json(metadata.as_ref())),
        ("protocols", json(p.protocols.as_ref())),
        ("updated_at", p.updated_at.millis().into()),
    ]
}

/// The ids of a zone's platform providers: `sts`/`vlt` + the first 23 characters of its id.
pub fn platform_provider_id(zone: &ZoneId, kind: ProviderType) -> ProviderId {
    let prefix = if kind == ProviderType::KeycardVault {
        "vlt"
    } else {
        "sts"
    };
    ProviderId::new(format!(
        "{prefix}{}",
        zone.as_str().chars().take(23).collect::<String>()
    ))
}

/// Inserts a new zone's `keycard-sts` and `keycard-vault` providers, inside `tx`.
pub(crate) async fn insert_platform(
    tx: &mut sqlx::AnyConnection,
    zone: &Zone,
) -> Result<(), StoreError> {
    for (kind, identifier, name) in [
        (ProviderType::KeycardSts, "urn:keycard:sts", "Keycard STS"),
        (
            ProviderType::KeycardVault,
            "urn:keycard:vault",
            "Keycard Vault",
        ),
    ] {
        let row = vec![
            ("zone_id", zone.id.as_str().into()),
            ("id", platform_provider_id(&zone.id, kind).as_str().into()),
            ("organization_id", zone.organization_id.as_str().into()),
            ("identifier", identifier.into()),
            ("name", name.into()),
            ("slug", kind.as_str().into()),
            ("owner_type", OwnerType::Platform.as_str().into()),
            ("type", kind.as_str().into()),
            ("created_at", zone.created_at.millis().into()),
            ("updated_at", zone.created_at.millis().into()),
        ];
        insert_row("providers", row)
            .query()
            .execute(&mut *tx)
            .await
            .store()?;
    }
    Ok(())
}

/// Ids (at most ten) of `table` rows in the zone whose `column` is `provider`.
async fn users_of(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    column: &str,
    zone: &ZoneId,
    provider: &ProviderId,
) -> Result<Vec<String>, StoreError> {
    let mut sql = Sql::new(format!("SELECT id FROM {table} WHERE zone_id = "));
    sql.bind(zone.as_str())
        .push(&format!(" AND {column} = "))
        .bind(provider.as_str())
        .push(" ORDER BY id LIMIT 10");
    sql.query()
        .fetch_all(&mut *tx)
        .await
        .store()?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()
        .store()
}

/// Inserts a provider inside `tx`, its slug made unique in the zone.
pub(crate) async fn insert_in(
    db: &crate::Db,
    tx: &mut sqlx::AnyConnection,
    mut p: Provider,
) -> Result<Provider, StoreError> {
    p.slug = unique_slug(
        db,
        tx,
        "providers",
        "slug",
        Some(("zone_id", p.zone_id.as_str())),
        &p.slug,
    )
    .await?;
    let mut row = vec![
        ("zone_id", p.zone_id.as_str().into()),
        ("id", p.id.as_str().into()),
        ("organization_id", p.organization_id.as_str().into()),
        ("slug", (&p.slug).into()),
        ("owner_type", p.owner_type.as_str().into()),
        ("type", p.kind.as_str().into()),
        ("created_at", p.created_at.millis().into()),
    ];
    row.extend(values(&p));
    insert_row("providers", row)
        .query()
        .execute(&mut *tx)
        .await
        .store()?;
    Ok(p)
}

/// Replaces a provider's settings; `NotFound` when it does not exist.
pub(crate) async fn update_in<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    exec: E,
    p: &Provider,
) -> Result<(), StoreError> {
    let keys = vec![
        ("zone_id", p.zone_id.as_str().into()),
        ("id", p.id.as_str().into()),
    ];
    if !touched(exec, &update_row("providers", values(p), keys)).await? {
        return Err(StoreError::NotFound(format!("provider `{}`", p.id)));
    }
    Ok(())
}

/// Deletes a provider inside `tx` once nothing needs it: users and user sessions lose the link,
/// the zone's sign-in stops using it; `Conflict` while credentials or resources use it.
pub(crate) async fn delete_in(
    tx: &mut sqlx::AnyConnection,
    zone: &ZoneId,
    id: &ProviderId,
) -> Result<bool, StoreError> {
    let creds = users_of(tx, "application_credentials", "provider_id", zone, id).await?;
    let resources = users_of(tx, "resources", "credential_provider_id", zone, id).await?;
    if !creds.is_empty() || !resources.is_empty() {
        let mut users = Vec::new();
        if !creds.is_empty() {
            users.push(format!("application credentials {}", quoted(&creds)));
        }
        if !resources.is_empty() {
            users.push(format!("resources {}", quoted(&resources)));
        }
        return Err(StoreError::Conflict(format!(
            "provider `{id}` is still used by {}",
            users.join(" and ")
        )));
    }
    let (z, p) = (zone.as_str().to_owned(), id.as_str().to_owned());
    for stmt in [
        "UPDATE users SET provider_id = NULL WHERE zone_id = $1 AND provider_id = $2",
        // Application sessions cannot exist without their provider; user sessions lose the link.
        "DELETE FROM sessions WHERE zone_id = $1 AND provider_id = $2 AND session_type = 'application'",
        "UPDATE sessions SET provider_id = NULL WHERE zone_id = $1 AND provider_id = $2",
        "UPDATE zones SET user_identity_provider_id = NULL WHERE id = $1 AND user_identity_provider_id = $2",
    ] {
        sqlx::query(stmt)
            .bind(z.clone())
            .bind(p.clone())
            .execute(&mut *tx)
            .await
            .store()?;
    }
    let mut sql = Sql::new("DELETE FROM providers WHERE zone_id = ");
    sql.bind(z).push(" AND id = ").bind(p);
    let done = touched(&mut *tx, &sql).await?;
    Ok(done)
}

#[async_trait]
impl ProviderStore for SqlStore {
    async fn create_provider(&self, p: Provider) -> Result<Provider, StoreError> {
        let mut w = self.db.write().await?;
        let p = insert_in(&self.db, &mut w.tx, p).await?;
        w.commit().await?;
        Ok(p)
    }

    async fn get_provider(
        &self,
        zone: &ZoneId,
        id: &ProviderId,
    ) -> Result<Option<Provider>, StoreError> {
        get_one(self.db.pool(), &SPEC, zone, id.as_str(), from_row).await
    }

    async fn list_providers(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Provider>, StoreError> {
        let f = SPEC.apply(
            self.db.backend(),
            Filter::default().eq("zone_id", zone.as_str()),
            filter,
        )?;
        list_page(self.db.pool(), &SPEC, &f, page, from_row).await
    }

    async fn update_provider(&self, p: &Provider) -> Result<(), StoreError> {
        update_in(self.db.pool(), p).await
    }

    async fn delete_provider(&self, zone: &ZoneId, id: &ProviderId) -> Result<bool, StoreError> {
        let mut w = self.db.write().await?;
        let done = delete_in(&mut w.tx, zone, id).await?;
        w.commit().await?;
        Ok(done)
    }
}

fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
