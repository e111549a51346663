//! Reading the audit log: the organization's filtered page. Who may read it (`org_admin`s and
//! machine credentials) is the authorization table's decision (`authz`, `audit_events`).

use latchkey_domain::model::access::Principal;
use latchkey_domain::model::audit::AuditEvent;
use latchkey_domain::store::AuditFilter;
use latchkey_domain::{Page, PageRequest};

use super::access;
use crate::error::ApiResult;
use crate::state::AppState;

/// The organization's events (after writing what is still buffered, so that a caller sees its
/// own writes at once).
pub async fn list(
    state: &AppState,
    who: &Principal,
    org: &str,
    filter: &AuditFilter,
    page: &PageRequest,
) -> ApiResult<Page<AuditEvent>> {
    let org = access::organization(state, who, org).await?;
    state.audit.flush(state.store.as_ref()).await;
    Ok(state.store.list_audit_events(&org.id, filter, page).await?)
}
