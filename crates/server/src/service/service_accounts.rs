//! Service accounts and their credentials. A credential's secret is generated here, returned once
//! and stored only as its keyed hash; deleting a credential or account revokes its tokens.

use latchkey_domain::id::{CredentialId, ServiceAccountId};
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::service_account::{ServiceAccount, ServiceAccountCredential};
use latchkey_domain::{Page, PageRequest, Timestamp, text};

use super::{access, new_id, opt_description, patch_named};
use crate::api::service_account::{CreateNamed, UpdateNamed};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Prefix of service-account client secrets, recognisable by secret scanners.
pub const SECRET_PREFIX: &str = "lk_sas_";

pub async fn list(
    state: &AppState,
    who: &Principal,
    org: &str,
    page: &PageRequest,
) -> ApiResult<Page<ServiceAccount>> {
    let org = access::organization(state, who, org).await?;
    Ok(state.store.list_service_accounts(&org.id, page).await?)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    org: &str,
    body: CreateNamed,
) -> ApiResult<ServiceAccount> {
    let org = access::organization(state, who, org).await?;
    let now = Timestamp::now();
    let sa = ServiceAccount {
        id: ServiceAccountId::new(new_id()?),
        organization_id: org.id,
        name: text::name("name", body.name)?,
        description: opt_description("description", body.description)?,
        created_at: now,
        updated_at: now,
    };
    state.store.create_service_account(&sa).await?;
    Ok(sa)
}

/// Loads an account of an organization the principal may act on.
pub async fn get(
    state: &AppState,
    who: &Principal,
    org: &str,
    id: &str,
) -> ApiResult<(Organization, ServiceAccount)> {
    let org = access::organization(state, who, org).await?;
    let sa = state
        .store
        .get_service_account(&org.id, &ServiceAccountId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("service account `{id}`")))?;
    Ok((org, sa))
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    org: &str,
    id: &str,
    body: UpdateNamed,
) -> ApiResult<ServiceAccount> {
    let (_, mut sa) = get(state, who, org, id).await?;
    if !patch_named(
        &mut sa.name,
        &mut sa.description,
        body.name,
        body.description,
    )? {
        return Ok(sa);
    }
    sa.updated_at = Timestamp::now();
    state.store.update_service_account(&sa).await?;
    Ok(sa)
}

pub async fn delete(state: &AppState, who: &Principal, org: &str, id: &str) -> ApiResult<()> {
    let (org, sa) = get(state, who, org, id).await?;
    state.store.delete_service_account(&org.id, &sa.id).await?;
    Ok(())
}

pub async fn list_credentials(
    state: &AppState,
    who: &Principal,
    org: &str,
    sa: &str,
    page: &PageRequest,
) -> ApiResult<Page<ServiceAccountCredential>> {
    let (org, sa) = get(state, who, org, sa).await?;
    Ok(state.store.list_credentials(&org.id, &sa.id, page).await?)
}

/// Creates a credential; returns it with the plaintext secret, which is never available again.
pub async fn create_credential(
    state: &AppState,
    who: &Principal,
    org: &str,
    sa: &str,
    body: CreateNamed,
) -> ApiResult<(ServiceAccountCredential, String)> {
    let (org, sa) = get(state, who, org, sa).await?;
    let secret = latchkey_crypto::random::secret(SECRET_PREFIX)?;
    let now = Timestamp::now();
    let cred = ServiceAccountCredential {
        id: CredentialId::new(new_id()?),
        organization_id: org.id,
        service_account_id: sa.id,
        name: text::name("name", body.name)?,
        description: opt_description("description", body.description)?,
        client_id: format!("lksa_{}", new_id()?),
        secret_hash: state.hasher.hash(&secret),
        last_used_at: None,
        created_at: now,
        updated_at: now,
    };
    state.store.create_credential(&cred).await?;
    Ok((cred, secret))
}

pub async fn get_credential(
    state: &AppState,
    who: &Principal,
    org: &str,
    sa: &str,
    id: &str,
) -> ApiResult<ServiceAccountCredential> {
    let (org, sa) = get(state, who, org, sa).await?;
    state
        .store
        .get_credential(&org.id, &sa.id, &CredentialId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("credential `{id}`")))
}

pub async fn update_credential(
    state: &AppState,
    who: &Principal,
    path: (&str, &str, &str),
    body: UpdateNamed,
) -> ApiResult<ServiceAccountCredential> {
    let (org, sa, id) = path;
    let mut cred = get_credential(state, who, org, sa, id).await?;
    if !patch_named(
        &mut cred.name,
        &mut cred.description,
        body.name,
        body.description,
    )? {
        return Ok(cred);
    }
    cred.updated_at = Timestamp::now();
    state.store.update_credential(&cred).await?;
    Ok(cred)
}

pub async fn delete_credential(
    state: &AppState,
    who: &Principal,
    org: &str,
    sa: &str,
    id: &str,
) -> ApiResult<()> {
    let cred = get_credential(state, who, org, sa, id).await?;
    state
        .store
        .delete_credential(&cred.organization_id, &cred.service_account_id, &cred.id)
        .await?;
    Ok(())
}
