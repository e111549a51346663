//! Persistence of the audit log: batched appends, an organization's filtered, cursor-paged list,
//! and purging by age.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::{OrganizationId, ZoneId};
use crate::model::audit::AuditEvent;
use crate::page::{Page, PageRequest};
use crate::time::Timestamp;

/// Filters of the audit log; each set one must match exactly.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub zone_id: Option<ZoneId>,
    pub action: Option<String>,
    /// Events at or after this time.
    pub since: Option<Timestamp>,
    /// Events before this time.
    pub until: Option<Timestamp>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events (one transaction).
    async fn record_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// The organization's events, sortable by `created_at` only.
    async fn list_audit_events(
        &self,
        org: &OrganizationId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEvent>>;
    /// Deletes events older than `before`; how many.
    async fn purge_audit_events(&self, before: Timestamp) -> StoreResult<u64>;
}
