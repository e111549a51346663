//! Reading the audit log: who may (platform admins; the organization's API keys and service
//! accounts; its people with the `org_admin` role) and the organization's filtered page.

use latchkey_domain::model::access::{OrgRole, Principal};
use latchkey_domain::model::audit::AuditEvent;
use latchkey_domain::store::AuditFilter;
use latchkey_domain::{Page, PageRequest};

use super::access;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether `who` may read an audit log (of an organization it can access).
fn may_read(who: &Principal) -> bool {
    match who {
        Principal::ApiKey { .. } | Principal::ServiceAccount { .. } => true,
        Principal::User { role, .. } => *role == Some(OrgRole::OrgAdmin),
    }
}

/// The organization's events (after writing what is still buffered, so that a caller sees its
/// own writes at once).
pub async fn list(
    state: &AppState,
    who: &Principal,
    org: &str,
    filter: &AuditFilter,
    page: &PageRequest,
) -> ApiResult<Page<AuditEvent>> {
    if !may_read(who) {
        return Err(ApiError::forbidden(
            "reading the audit log needs the `org_admin` role",
        ));
    }
    let org = access::organization(state, who, org).await?;
    state.audit.flush(state.store.as_ref()).await;
    Ok(state.store.list_audit_events(&org.id, filter, page).await?)
}
