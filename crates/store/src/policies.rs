//! Cedar policies (`PolicyStore`): schema versions and zone default schemas, policies and their
//! immutable versions. The trait is implemented here; policy sets, their versions and bindings
//! live in `policy_sets`, the evaluation read (`bound_sets`) and the seeded platform set in
//! `policy_bound`, the row mapping in `policy_rows`.

use std::collections::HashMap;

use async_trait::async_trait;
use latchkey_domain::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId, ZoneId};
use latchkey_domain::model::policy::{
    BoundSet, DecisionRecord, Policy, PolicySet, PolicySetVersion, PolicyVersion, SchemaVersion,
};
use latchkey_domain::store::{
    Archival, BindMode, DecisionFilter, PolicySeed, PolicySetFilter, PolicyStore,
};
use latchkey_domain::{ListFilter, Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;

use crate::SqlStore;
use crate::error::OrStore;
use crate::policy_rows::{
    POLICIES, POLICY_VERSIONS, SCHEMA_COLUMNS, insert_policy, insert_policy_version,
    policy_changes, policy_from_row, schema_from_row, version_from_row,
};
use crate::sql::{Arg, Filter, Sql, get_one, list_page, touched, update_row};
use crate::{policy_bound, policy_decisions, policy_sets};

/// Gives `version_id` the next number of its parent (a `policies` or `policy_sets` row) and makes
/// it the parent's latest (with `schema` as `latest_schema_version` for policies), inside `tx`;
/// `None` when the parent does not exist. The parent row is updated first: on PostgreSQL that
/// takes its row lock, so concurrent additions to one parent are numbered one after the other
/// (SQLite's writers are serialised already); `UNIQUE (zone_id, parent, version)` backs it up.
pub(crate) async fn next_number(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    zone: &ZoneId,
    parent: &str,
    version_id: &str,
    schema: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let mut sql = Sql::new(format!(
        "UPDATE {table} SET latest_version = COALESCE(latest_version, 0) + 1, latest_version_id = "
    ));
    sql.bind(version_id);
    if let Some(schema) = schema {
        sql.push(", latest_schema_version = ").bind(schema);
    }
    sql.push(" WHERE zone_id = ")
        .bind(zone.as_str())
        .push(" AND id = ")
        .bind(parent)
        .push(" RETURNING latest_version");
    let row = sql.query().fetch_optional(&mut *tx).await.store()?;
    row.map(|r| r.try_get::<i64, _>("latest_version"))
        .transpose()
        .store()
}

/// Archives the row `(zone, id)` of a version table unless it already is (the first archival
/// stays); whether the row exists.
pub(crate) async fn archive_row(
    pool: &sqlx::AnyPool,
    table: &str,
    zone: &ZoneId,
    id: &str,
    archival: &Archival,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new(format!(
        "UPDATE {table} SET archived_at = COALESCE(archived_at, "
    ));
    sql.bind(archival.at.millis())
        .push("), archived_by = COALESCE(archived_by, ")
        .bind(&archival.by)
        .push(") WHERE zone_id = ")
        .bind(zone.as_str())
        .push(" AND id = ")
        .bind(id);
    touched(pool, &sql).await
}

#[async_trait]
impl PolicyStore for SqlStore {
    async fn list_schema_versions(&self) -> Result<Vec<SchemaVersion>, StoreError> {
        let sql =
            format!("SELECT {SCHEMA_COLUMNS} FROM policy_schema_versions ORDER BY version DESC");
        let rows = Sql::new(sql)
            .query()
            .fetch_all(self.db.pool())
            .await
            .store()?;
        rows.iter()
            .map(schema_from_row)
            .collect::<Result<_, _>>()
            .store()
    }

    async fn get_schema_version(&self, version: &str) -> Result<Option<SchemaVersion>, StoreError> {
        let mut sql = Sql::new(format!(
            "SELECT {SCHEMA_COLUMNS} FROM policy_schema_versions WHERE version = "
        ));
        sql.bind(version);
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.as_ref().map(schema_from_row).transpose().store()
    }

    async fn zone_default_schema(&self, zone: &ZoneId) -> Result<Option<String>, StoreError> {
        let mut sql = Sql::new("SELECT schema_version FROM zone_policy_schemas WHERE zone_id = ");
        sql.bind(zone.as_str());
        let row = sql.query().fetch_optional(self.db.pool()).await.store()?;
        row.map(|r| r.try_get::<String, _>("schema_version"))
            .transpose()
            .store()
    }

    async fn set_zone_default_schema(
        &self,
        zone: &ZoneId,
        version: &str,
    ) -> Result<(), StoreError> {
        let mut sql =
            Sql::new("INSERT INTO zone_policy_schemas (zone_id, schema_version) VALUES (");
        sql.bind(zone.as_str())
            .push(", ")
            .bind(version)
            .push(") ON CONFLICT (zone_id) DO UPDATE SET schema_version = excluded.schema_version");
        sql.query().execute(self.db.pool()).await.store()?;
        Ok(())
    }

    async fn create_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        let mut conn = self.db.pool().acquire().await.store()?;
        insert_policy(&mut conn, policy).await
    }

    async fn get_policy(&self, zone: &ZoneId, id: &PolicyId) -> Result<Option<Policy>, StoreError> {
        get_one(
            self.db.pool(),
            &POLICIES,
            zone,
            id.as_str(),
            policy_from_row,
        )
        .await
    }

    async fn list_policies(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Policy>, StoreError> {
        let f = POLICIES.apply(
            self.db.backend(),
            Filter::default().eq("zone_id", zone.as_str()),
            filter,
        )?;
        list_page(self.db.pool(), &POLICIES, &f, page, policy_from_row).await
    }

    async fn update_policy(
        &self,
        policy: &Policy,
        unchanged_since: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<(&str, Arg)> = vec![
            ("zone_id", policy.zone_id.as_str().into()),
            ("id", policy.id.as_str().into()),
        ];
        if let Some(at) = unchanged_since {
            keys.push(("updated_at", at.millis().into()));
        }
        let sql = update_row("policies", policy_changes(policy), keys);
        if !touched(self.db.pool(), &sql).await? {
            let what = format!("policy `{}`", policy.id);
            return Err(match unchanged_since {
                Some(_) => StoreError::Stale(what),
                None => StoreError::NotFound(what),
            });
        }
        Ok(())
    }

    async fn add_policy_version(
        &self,
        mut version: PolicyVersion,
    ) -> Result<PolicyVersion, StoreError> {
        let mut w = self.db.write().await?;
        version.version = next_number(
            &mut w.tx,
            "policies",
            &version.zone_id,
            version.policy_id.as_str(),
            version.id.as_str(),
            Some(&version.schema_version),
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("policy `{}`", version.policy_id)))?;
        insert_policy_version(&mut w.tx, &version).await?;
        w.commit().await?;
        Ok(version)
    }

    async fn get_policy_version(
        &self,
        zone: &ZoneId,
        id: &PolicyVersionId,
    ) -> Result<Option<PolicyVersion>, StoreError> {
        get_one(
            self.db.pool(),
            &POLICY_VERSIONS,
            zone,
            id.as_str(),
            version_from_row,
        )
        .await
    }

    async fn list_policy_versions(
        &self,
        zone: &ZoneId,
        policy: Option<&PolicyId>,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<PolicyVersion>, StoreError> {
        let f = Filter::default()
            .eq("zone_id", zone.as_str())
            .eq_opt("policy_id", policy.map(PolicyId::as_str));
        let f = POLICY_VERSIONS.apply(self.db.backend(), f, filter)?;
        list_page(self.db.pool(), &POLICY_VERSIONS, &f, page, version_from_row).await
    }

    async fn archive_policy_version(
        &self,
        zone: &ZoneId,
        id: &PolicyVersionId,
        archival: &Archival,
    ) -> Result<bool, StoreError> {
        archive_row(
            self.db.pool(),
            "policy_versions",
            zone,
            id.as_str(),
            archival,
        )
        .await
    }

    async fn create_policy_set(&self, set: &PolicySet) -> Result<(), StoreError> {
        policy_sets::create(&self.db, set).await
    }

    async fn get_policy_set(
        &self,
        zone: &ZoneId,
        id: &PolicySetId,
    ) -> Result<Option<PolicySet>, StoreError> {
        policy_sets::get(&self.db, zone, id).await
    }

    async fn list_policy_sets(
        &self,
        zone: &ZoneId,
        filter: &PolicySetFilter,
        page: &PageRequest,
    ) -> Result<Page<PolicySet>, StoreError> {
        policy_sets::list(&self.db, zone, filter, page).await
    }

    async fn update_policy_set(
        &self,
        set: &PolicySet,
        unchanged_since: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        policy_sets::update(&self.db, set, unchanged_since).await
    }

    async fn add_policy_set_version(
        &self,
        version: PolicySetVersion,
    ) -> Result<PolicySetVersion, StoreError> {
        policy_sets::add_version(&self.db, version).await
    }

    async fn get_policy_set_version(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
    ) -> Result<Option<PolicySetVersion>, StoreError> {
        policy_sets::get_version(&self.db, zone, id).await
    }

    async fn list_policy_set_versions(
        &self,
        zone: &ZoneId,
        set: &PolicySetId,
        page: &PageRequest,
    ) -> Result<Page<PolicySetVersion>, StoreError> {
        policy_sets::list_versions(&self.db, zone, set, page).await
    }

    async fn set_attestation(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
        statement: &serde_json::Value,
        jws: &str,
    ) -> Result<(), StoreError> {
        policy_sets::set_attestation(&self.db, zone, id, statement, jws).await
    }

    async fn archive_policy_set_version(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
        archival: &Archival,
    ) -> Result<bool, StoreError> {
        archive_row(
            self.db.pool(),
            "policy_set_versions",
            zone,
            id.as_str(),
            archival,
        )
        .await
    }

    async fn bind_policy_set(
        &self,
        zone: &ZoneId,
        set: &PolicySetId,
        version: Option<&PolicySetVersionId>,
        mode: BindMode,
        target_id: &str,
    ) -> Result<(), StoreError> {
        policy_sets::bind(&self.db, zone, set, version, mode, target_id).await
    }

    async fn bound_sets(&self, zone: &ZoneId) -> Result<Vec<BoundSet>, StoreError> {
        policy_bound::bound_sets(&self.db, zone).await
    }

    async fn bindings_of(
        &self,
        zones: &[ZoneId],
    ) -> Result<HashMap<ZoneId, Vec<(String, bool)>>, StoreError> {
        policy_bound::bindings_of(&self.db, zones).await
    }

    async fn seed_policy_set(&self, seed: &PolicySeed) -> Result<bool, StoreError> {
        policy_bound::seed(&self.db, seed).await
    }

    async fn zones_without_policy_set(&self, name: &str) -> Result<Vec<ZoneId>, StoreError> {
        policy_bound::zones_without(&self.db, name).await
    }

    async fn record_decisions(&self, rows: &[DecisionRecord]) -> Result<(), StoreError> {
        policy_decisions::record(&self.db, rows).await
    }

    async fn list_decisions(
        &self,
        zone: &ZoneId,
        filter: &DecisionFilter,
        page: &PageRequest,
    ) -> Result<Page<DecisionRecord>, StoreError> {
        policy_decisions::list(&self.db, zone, filter, page).await
    }

    async fn purge_decisions(&self, before: Timestamp) -> Result<u64, StoreError> {
        policy_decisions::purge(&self.db, before).await
    }
}
