//! The secrets vault. The store keeps `data` exactly as the service sealed it; metadata is plain.

use async_trait::async_trait;
use latchkey_domain::StoreError;
use latchkey_domain::id::{SecretId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::vault::{Secret, SecretKind};
use latchkey_domain::store::{SecretFilter, VaultStore};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{
    Arg, BY_CREATED, Filter, Sql, TableSpec, delete_one, get_json, get_one, insert_row, json,
    parsed, touched, ts, update_row,
};

const COLUMNS: &str = "zone_id, id, entity_id, name, description, type, owner_type, metadata, version, data, created_at, updated_at";
const SPEC: TableSpec = TableSpec {
    table: "secrets",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
/// The vault list is a bare array; this bounds it.
const MAX_LISTED: i64 = 1000;

fn from_row(row: &AnyRow) -> Result<Secret, sqlx::Error> {
    Ok(Secret {
        zone_id: ZoneId::new(row.try_get::<String, _>("zone_id")?),
        id: SecretId::new(row.try_get::<String, _>("id")?),
        entity_id: row.try_get("entity_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        kind: parsed(row, "type", SecretKind::parse)?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        metadata: get_json(row, "metadata")?,
        version: row.try_get("version")?,
        data: row.try_get("data")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

fn values(s: &Secret) -> Vec<(&'static str, Arg)> {
    vec![
        ("name", (&s.name).into()),
        ("description", (&s.description).into()),
        ("metadata", json(s.metadata.as_ref())),
        ("version", s.version.into()),
        ("data", Arg::Bytes(Some(s.data.clone()))),
        ("updated_at", s.updated_at.millis().into()),
    ]
}

#[async_trait]
impl VaultStore for SqlStore {
    async fn create_secret(&self, s: &Secret) -> Result<(), StoreError> {
        let mut row = vec![
            ("zone_id", s.zone_id.as_str().into()),
            ("id", s.id.as_str().into()),
            ("entity_id", (&s.entity_id).into()),
            ("type", s.kind.as_str().into()),
            ("owner_type", s.owner_type.as_str().into()),
            ("created_at", s.created_at.millis().into()),
        ];
        row.extend(values(s));
        insert_row("secrets", row)
            .query()
            .execute(self.db.pool())
            .await
            .store()?;
        Ok(())
    }

    async fn get_secret(&self, zone: &ZoneId, id: &SecretId) -> Result<Option<Secret>, StoreError> {
        get_one(self.db.pool(), &SPEC, zone, id.as_str(), from_row).await
    }

    async fn list_secrets(
        &self,
        zone: &ZoneId,
        filter: &SecretFilter,
    ) -> Result<Vec<Secret>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM secrets"));
        Filter::default()
            .eq("zone_id", zone.as_str())
            .eq_opt("entity_id", filter.entity_id.as_deref())
            .eq_opt("owner_type", filter.owner_type.map(OwnerType::as_str))
            .eq_opt("type", filter.kind.map(SecretKind::as_str))
            .write(&mut sql, None);
        sql.push(" ORDER BY created_at, id LIMIT ").bind(MAX_LISTED);
        let rows = sql.query().fetch_all(self.db.pool()).await.store()?;
        rows.iter().map(from_row).collect::<Result<_, _>>().store()
    }

    async fn update_secret(&self, s: &Secret) -> Result<(), StoreError> {
        let keys = vec![
            ("zone_id", s.zone_id.as_str().into()),
            ("id", s.id.as_str().into()),
        ];
        if !touched(self.db.pool(), &update_row("secrets", values(s), keys)).await? {
            return Err(StoreError::NotFound(format!("secret `{}`", s.id)));
        }
        Ok(())
    }

    async fn delete_secret(&self, zone: &ZoneId, id: &SecretId) -> Result<bool, StoreError> {
        delete_one(self.db.pool(), "secrets", zone, id.as_str()).await
    }
}
