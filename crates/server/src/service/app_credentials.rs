//! Application credentials (spec §3.7, rules B1–B3): the five-way union on `type`. A password
//! credential's secret is generated here, returned once, and stored as a keyed hash.

use latchkey_domain::id::{AppCredentialId, ApplicationId, ProviderId};
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::directory::{AppCredential, CredentialKind};
use latchkey_domain::{ListFilter, Page, PageRequest, Patch, Timestamp, text};

use super::validate;
use super::{access, found, new_id, required, taken};
use crate::api::directory::{CreateCredential, UpdateCredential};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Prefix of generated client secrets.
pub const SECRET_PREFIX: &str = "lk_cs_";
/// Identifier of a token credential that accepts any subject.
pub const ANY_SUBJECT: &str = "*";

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    application: Option<&str>,
    filter: &ListFilter,
    page: &PageRequest,
) -> ApiResult<Page<AppCredential>> {
    let zone = access::zone(state, who, zone).await?;
    let app = application.map(ApplicationId::new);
    Ok(state
        .store
        .list_app_credentials(&zone.id, app.as_ref(), filter, page)
        .await?)
}

pub async fn get(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<AppCredential> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_app_credential(&zone.id, &AppCredentialId::new(id))
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "application credential `{id}` in zone `{}`",
                zone.id
            ))
        })
}

fn subject(v: String) -> ApiResult<String> {
    text::check_text("subject", &v, 1, 1024)?;
    Ok(v)
}

fn client_identifier(kind: CredentialKind, v: String) -> ApiResult<String> {
    let v = validate::identifier("identifier", v)?;
    if kind == CredentialKind::Url {
        validate::http_url("identifier", &v)?;
    } else if v == ANY_SUBJECT {
        return Err(ApiError::invalid_field(
            "identifier",
            "`*` is reserved for token credentials",
        ));
    }
    Ok(v)
}

/// Creates a credential; for `password` also returns the generated secret (shown once).
pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreateCredential,
) -> ApiResult<(AppCredential, Option<String>)> {
    let zone = access::zone(state, who, zone).await?;
    let app_id = ApplicationId::new(&body.application_id);
    found(
        state.store.get_application(&zone.id, &app_id).await?,
        "application_id",
        "application",
        app_id.as_str(),
    )?;
    let now = Timestamp::now();
    let mut cred = AppCredential {
        zone_id: zone.id.clone(),
        id: AppCredentialId::new(new_id()?),
        organization_id: zone.organization_id,
        application_id: app_id,
        kind: body.kind,
        identifier: String::new(),
        slug: String::new(),
        subject: None,
        provider_id: None,
        jwks_uri: None,
        secret_hash: None,
        created_at: now,
        updated_at: now,
    };
    let mut secret = None;
    match body.kind {
        CredentialKind::Token => {
            let provider = body.provider_id.ok_or_else(|| {
                ApiError::invalid_field("provider_id", "is required for token credentials")
            })?;
            let provider = ProviderId::new(provider);
            found(
                state.store.get_provider(&zone.id, &provider).await?,
                "provider_id",
                "provider",
                provider.as_str(),
            )?;
            cred.provider_id = Some(provider);
            cred.subject = body.subject.map(subject).transpose()?;
            cred.identifier = cred
                .subject
                .clone()
                .unwrap_or_else(|| ANY_SUBJECT.to_owned());
        }
        CredentialKind::Url => {
            let id = body.identifier.ok_or_else(|| {
                ApiError::invalid_field("identifier", "is required for url credentials")
            })?;
            cred.identifier = client_identifier(CredentialKind::Url, id)?;
        }
        kind => {
            if kind == CredentialKind::PublicKey {
                let jwks = body.jwks_uri.ok_or_else(|| {
                    ApiError::invalid_field("jwks_uri", "is required for public-key credentials")
                })?;
                validate::https_or_loopback("jwks_uri", &jwks)?;
                cred.jwks_uri = Some(jwks);
            }
            cred.identifier = match body.identifier {
                Some(i) => client_identifier(kind, i)?,
                None => new_id()?,
            };
            if kind == CredentialKind::Password {
                let s = latchkey_crypto::random::secret(SECRET_PREFIX)?;
                cred.secret_hash = Some(state.hasher.hash(&s));
                secret = Some(s);
            }
        }
    }
    cred.slug = text::slugify(&cred.identifier, "credential");
    let ident = cred.identifier.clone();
    let cred = state.store.create_app_credential(cred).await.map_err(|e| {
        taken(e, || {
            format!("a credential with identifier `{ident}` already exists in this zone")
        })
    })?;
    Ok((cred, secret))
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: UpdateCredential,
) -> ApiResult<AppCredential> {
    let mut cred = get(state, who, zone, id).await?;
    if let Some(kind) = body.kind
        && kind != cred.kind
    {
        return Err(ApiError::invalid_field(
            "type",
            format!("is `{}` and cannot change", cred.kind.as_str()),
        ));
    }
    match cred.kind {
        CredentialKind::Token => {
            if !body.identifier.is_absent() {
                return Err(ApiError::invalid_field(
                    "identifier",
                    "a token credential's identifier follows its subject",
                ));
            }
            if !body.subject.is_absent() {
                cred.subject = body.subject.try_map(subject)?.apply(cred.subject);
                cred.identifier = cred
                    .subject
                    .clone()
                    .unwrap_or_else(|| ANY_SUBJECT.to_owned());
            }
        }
        CredentialKind::Url | CredentialKind::Public => {
            if let Some(i) = required("identifier", body.identifier)? {
                cred.identifier = client_identifier(cred.kind, i)?;
            }
            refuse_subject(&body.subject)?;
        }
        CredentialKind::Password | CredentialKind::PublicKey => {
            if !body.identifier.is_absent() {
                return Err(ApiError::invalid_field(
                    "identifier",
                    format!("cannot change on {} credentials", cred.kind.as_str()),
                ));
            }
            refuse_subject(&body.subject)?;
        }
    }
    cred.updated_at = Timestamp::now();
    state
        .store
        .update_app_credential(&cred)
        .await
        .map_err(|e| {
            taken(e, || {
                format!(
                    "a credential with identifier `{}` already exists in this zone",
                    cred.identifier
                )
            })
        })?;
    Ok(cred)
}

fn refuse_subject(p: &Patch<String>) -> ApiResult<()> {
    if p.is_absent() {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "subject",
            "applies to token credentials only",
        ))
    }
}

pub async fn delete(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<()> {
    let cred = get(state, who, zone, id).await?;
    state
        .store
        .delete_app_credential(&cred.zone_id, &cred.id)
        .await?;
    Ok(())
}
