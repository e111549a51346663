//! The secrets vault (spec §3.14, rules B6–B7). `data` is sealed with the zone, secret id and
//! version as context and opened only for the single-secret read; metadata is stored plain.

use latchkey_domain::id::SecretId;
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::vault::{Secret, SecretKind};
use latchkey_domain::store::SecretFilter;
use latchkey_domain::{Timestamp, text};

use super::{access, new_id, required};
use crate::api::vault::{CreateSecret, SecretData, UpdateSecret};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const DESCRIPTION_MAX: usize = 128;
const DATA_MAX: usize = 64 * 1024;
const METADATA_MAX: usize = 16 * 1024;

fn context(s: &Secret) -> String {
    format!("{}/secret/{}/{}", s.zone_id, s.id, s.version)
}

fn check_data(d: &SecretData) -> ApiResult<()> {
    let fields: Vec<(&str, &String)> = match d {
        SecretData::Token { token } => vec![("data.token", token)],
        SecretData::Password { username, password } => {
            vec![("data.username", username), ("data.password", password)]
        }
    };
    for (f, v) in fields {
        if v.is_empty() || v.len() > DATA_MAX {
            return Err(ApiError::invalid_field(
                f,
                format!("must be 1 to {DATA_MAX} bytes"),
            ));
        }
    }
    Ok(())
}

fn check_metadata(m: &serde_json::Value) -> ApiResult<()> {
    if !m.is_object() {
        return Err(ApiError::invalid_field("metadata", "must be a JSON object"));
    }
    if m.to_string().len() > METADATA_MAX {
        return Err(ApiError::invalid_field(
            "metadata",
            format!("must be at most {METADATA_MAX} bytes"),
        ));
    }
    Ok(())
}

fn seal(state: &AppState, s: &mut Secret, data: &SecretData) -> ApiResult<()> {
    let plain = serde_json::to_vec(data).map_err(|_| ApiError::internal())?;
    s.data = state.sealer.seal(&context(s), &plain)?;
    Ok(())
}

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    mut filter: SecretFilter,
) -> ApiResult<Vec<Secret>> {
    let zone = access::zone(state, who, zone).await?;
    if filter.owner_type.is_some() && filter.kind.is_none() {
        return Err(ApiError::invalid_query("owner_type", "requires `type`"));
    }
    match filter.owner_type {
        Some(OwnerType::Platform) if !who.is_platform_admin() => {
            return Err(ApiError::forbidden(
                "only platform principals may list platform secrets",
            ));
        }
        None if !who.is_platform_admin() => filter.owner_type = Some(OwnerType::Customer),
        _ => {}
    }
    Ok(state.store.list_secrets(&zone.id, &filter).await?)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreateSecret,
) -> ApiResult<Secret> {
    let zone = access::zone(state, who, zone).await?;
    if let Some(z) = &body.zone_id
        && z != zone.id.as_str()
    {
        return Err(ApiError::invalid_field(
            "zone_id",
            "must equal the zone in the path",
        ));
    }
    text::check_text("entity_id", &body.entity_id, 1, 255)?;
    if let Some(d) = &body.description {
        text::check_text("description", d, 0, DESCRIPTION_MAX)?;
    }
    if let Some(m) = &body.metadata {
        check_metadata(m)?;
    }
    check_data(&body.data)?;
    let now = Timestamp::now();
    let mut s = Secret {
        zone_id: zone.id,
        id: SecretId::new(new_id()?),
        entity_id: body.entity_id,
        name: text::name("name", body.name)?,
        description: body.description,
        kind: body.data.kind(),
        owner_type: OwnerType::Customer,
        metadata: body.metadata,
        version: 1,
        data: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    seal(state, &mut s, &body.data)?;
    state.store.create_secret(&s).await?;
    Ok(s)
}

pub async fn get(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Secret> {
    let zone = access::zone(state, who, zone).await?;
    let s = state
        .store
        .get_secret(&zone.id, &SecretId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("secret `{id}` in zone `{}`", zone.id)))?;
    if s.owner_type == OwnerType::Platform && !who.is_platform_admin() {
        return Err(ApiError::not_found(format!(
            "secret `{id}` in zone `{}`",
            zone.id
        )));
    }
    Ok(s)
}

/// The secret with its opened data.
pub async fn reveal(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<(Secret, SecretData)> {
    let s = get(state, who, zone, id).await?;
    let plain = state.sealer.open(&context(&s), &s.data)?;
    let data = serde_json::from_slice(&plain).map_err(|_| ApiError::internal())?;
    Ok((s, data))
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: UpdateSecret,
) -> ApiResult<Secret> {
    let mut s = get(state, who, zone, id).await?;
    if let Some(n) = required("name", body.name)? {
        s.name = text::name("name", n)?;
    }
    s.description = body
        .description
        .try_map(|d| text::description("description", d, DESCRIPTION_MAX))?
        .apply(s.description);
    s.metadata = match body.metadata {
        latchkey_domain::Patch::Value(m) => {
            check_metadata(&m)?;
            Some(m)
        }
        other => other.apply(s.metadata),
    };
    if let Some(data) = body.data {
        check_data(&data)?;
        if data.kind() != s.kind {
            return Err(ApiError::invalid_field(
                "data.type",
                format!("is `{}` and cannot change", s.kind.as_str()),
            ));
        }
        s.version += 1;
        seal(state, &mut s, &data)?;
    }
    s.updated_at = Timestamp::now();
    state.store.update_secret(&s).await?;
    Ok(s)
}

pub async fn delete(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<()> {
    let s = get(state, who, zone, id).await?;
    state.store.delete_secret(&s.zone_id, &s.id).await?;
    Ok(())
}

/// Parses the `owner_type` and `type` list parameters.
pub fn filter(
    entity_id: Option<&str>,
    owner_type: Option<&str>,
    kind: Option<&str>,
) -> SecretFilter {
    SecretFilter {
        entity_id: entity_id.map(str::to_owned),
        owner_type: owner_type.and_then(OwnerType::parse),
        kind: kind.and_then(SecretKind::parse),
    }
}
