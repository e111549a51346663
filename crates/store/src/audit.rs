//! The audit log's rows: batched appends, an organization's filtered, cursor-paged list, and
//! purging by age.

use async_trait::async_trait;
use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::audit::{AuditActor, AuditEvent, Outcome};
use latchkey_domain::store::{AuditFilter, AuditStore};
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::SqlStore;
use crate::error::OrStore;
use crate::sql::{Arg, BY_CREATED, Filter, Sql, TableSpec, list_page, ts};

const COLUMNS: &str = "organization_id, id, created_at, actor_type, actor_id, action, object_type, \
                       object_id, zone_id, request_id, source_address, outcome, status";
const SPEC: TableSpec = TableSpec {
    table: "audit_events",
    columns: COLUMNS,
    sortable: BY_CREATED,
    fields: &[],
};
/// Rows per INSERT statement (13 bind values each); small for the reason given in
/// `policy_decisions.rs` (SQLite's parameter lookup grows with the square of their number).
const BATCH: usize = 16;

fn from_row(row: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    let actor_type: Option<String> = row.try_get("actor_type")?;
    let actor_id: Option<String> = row.try_get("actor_id")?;
    let outcome: String = row.try_get("outcome")?;
    let status: i64 = row.try_get("status")?;
    Ok(AuditEvent {
        organization_id: OrganizationId::new(row.try_get::<String, _>("organization_id")?),
        id: row.try_get("id")?,
        created_at: ts(row, "created_at")?,
        actor: actor_id
            .zip(actor_type)
            .map(|(id, kind)| AuditActor { id, kind }),
        action: row.try_get("action")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        zone_id: row
            .try_get::<Option<String>, _>("zone_id")?
            .map(ZoneId::new),
        request_id: row.try_get("request_id")?,
        source_address: row.try_get("source_address")?,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
        status: u16::try_from(status).unwrap_or_default(),
    })
}

fn values(e: &AuditEvent) -> Vec<Arg> {
    vec![
        e.organization_id.as_str().into(),
        e.id.as_str().into(),
        e.created_at.millis().into(),
        e.actor.as_ref().map(|a| a.kind.clone()).into(),
        e.actor.as_ref().map(|a| a.id.clone()).into(),
        e.action.as_str().into(),
        e.object_type.clone().into(),
        e.object_id.clone().into(),
        e.zone_id.as_ref().map(|z| z.as_str().to_owned()).into(),
        e.request_id.as_str().into(),
        e.source_address.clone().into(),
        e.outcome.as_str().into(),
        i64::from(e.status).into(),
    ]
}

fn filter(org: &OrganizationId, f: &AuditFilter) -> Filter {
    let mut filter = Filter::default()
        .eq("organization_id", org.as_str())
        .eq_opt("actor_id", f.actor_id.clone())
        .eq_opt("object_type", f.object_type.clone())
        .eq_opt("object_id", f.object_id.clone())
        .eq_opt("zone_id", f.zone_id.as_ref().map(|z| z.as_str().to_owned()))
        .eq_opt("action", f.action.clone());
    if let Some(t) = f.since {
        filter = filter.raw("created_at >= ?", vec![t.millis().into()]);
    }
    if let Some(t) = f.until {
        filter = filter.raw("created_at < ?", vec![t.millis().into()]);
    }
    filter
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut w = self.db.write().await?;
        for chunk in events.chunks(BATCH) {
            let mut sql = Sql::new(format!("INSERT INTO audit_events ({COLUMNS}) VALUES "));
            for (i, e) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                for (j, v) in values(e).into_iter().enumerate() {
                    if j > 0 {
                        sql.push(", ");
                    }
                    sql.bind(v);
                }
                sql.push(")");
            }
            sql.query().execute(&mut *w.tx).await.store()?;
        }
        w.commit().await
    }

    async fn list_audit_events(
        &self,
        org: &OrganizationId,
        f: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        list_page(self.db.pool(), &SPEC, &filter(org, f), page, from_row).await
    }

    async fn purge_audit_events(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut sql = Sql::new("DELETE FROM audit_events WHERE created_at < ");
        sql.bind(before.millis());
        Ok(sql
            .query()
            .execute(self.db.pool())
            .await
            .store()?
            .rows_affected())
    }
}
