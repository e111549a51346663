//! Providers (spec §3.9, rules B5, B17): upstream OAuth/OIDC configuration. The client secret is
//! sealed at rest and shown only as `client_secret_set`.

use latchkey_domain::id::{ProviderId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::directory::{
    Provider, ProviderOAuth2, ProviderOpenId, ProviderProtocols, ProviderType,
};
use latchkey_domain::{ListFilter, Page, PageRequest, Patch, Timestamp, text};

use super::validate;
use super::{access, new_id, opt_description, required, taken};
use crate::api::directory::{
    CreateProvider, ProviderOAuth2Patch, ProviderOpenIdPatch, ProviderProtocolsBody,
    UpdateProvider, oauth2_from_body,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const SECRET_MAX: usize = 4096;

/// Where a provider's sealed client secret belongs (the context `latchkey_oauth::provider`
/// opens it under).
fn seal_context(zone: &ZoneId, id: &ProviderId) -> String {
    format!("{zone}/provider/{id}/client_secret")
}

/// Most entries of `authorization_parameters`.
const PARAMETERS_MAX: usize = 50;

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &ListFilter,
    page: &PageRequest,
) -> ApiResult<Page<Provider>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_providers(&zone.id, filter, page).await?)
}

pub async fn get(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Provider> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_provider(&zone.id, &ProviderId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("provider `{id}` in zone `{}`", zone.id)))
}

async fn get_mut(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Provider> {
    let p = get(state, who, zone, id).await?;
    if p.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("provider `{id}`")));
    }
    Ok(p)
}

/// Checks a provider's OAuth 2.0 block; errors name `protocols.oauth2.<field>`.
pub(crate) fn check_oauth2(o: &ProviderOAuth2) -> ApiResult<()> {
    let f = |name: &str| format!("protocols.oauth2.{name}");
    validate::absolute_uri(&f("issuer"), &o.issuer)?;
    for (name, v) in [
        ("authorization_endpoint", &o.authorization_endpoint),
        ("jwks_uri", &o.jwks_uri),
        ("registration_endpoint", &o.registration_endpoint),
        ("token_endpoint", &o.token_endpoint),
    ] {
        if let Some(u) = v {
            validate::http_url(&f(name), u)?;
        }
    }
    for (name, v) in [
        (
            "authorization_resource_parameter",
            &o.authorization_resource_parameter,
        ),
        ("scope_parameter", &o.scope_parameter),
        ("scope_separator", &o.scope_separator),
        (
            "token_response_access_token_pointer",
            &o.token_response_access_token_pointer,
        ),
    ] {
        if let Some(s) = v {
            text::check_text(&f(name), s, 1, 255)?;
        }
    }
    if let Some(params) = &o.authorization_parameters {
        if params.len() > PARAMETERS_MAX {
            return Err(ApiError::invalid_field(
                &f("authorization_parameters"),
                format!("at most {PARAMETERS_MAX} entries"),
            ));
        }
        for (k, v) in params {
            text::check_text(&f("authorization_parameters"), k, 1, 255)?;
            text::check_text(&f(&format!("authorization_parameters.{k}")), v, 0, 2048)?;
        }
    }
    if let Some(v) = &o.scopes_supported {
        validate::scopes(&f("scopes_supported"), v.clone())?;
    }
    if let Some(v) = &o.code_challenge_methods_supported {
        validate::strings(&f("code_challenge_methods_supported"), v)?;
    }
    Ok(())
}

/// Checks a provider's OpenID Connect block; errors name `protocols.openid.<field>`.
pub(crate) fn check_openid(o: &ProviderOpenId) -> ApiResult<()> {
    if let Some(s) = &o.scopes {
        validate::scopes("protocols.openid.scopes", s.clone())?;
    }
    if let Some(c) = &o.user_identifier_claim {
        text::check_text("protocols.openid.user_identifier_claim", c, 1, 255)?;
    }
    if let Some(u) = &o.userinfo_endpoint {
        validate::http_url("protocols.openid.userinfo_endpoint", u)?;
    }
    Ok(())
}

fn protocols_from(
    body: ProviderProtocolsBody,
    identifier: &str,
) -> ApiResult<Option<ProviderProtocols>> {
    let oauth2 = body.oauth2.map(|o| oauth2_from_body(o, identifier));
    if let Some(o) = &oauth2 {
        check_oauth2(o)?;
    }
    if let Some(o) = &body.openid {
        check_openid(o)?;
    }
    Ok(
        (oauth2.is_some() || body.openid.is_some()).then_some(ProviderProtocols {
            oauth2,
            openid: body.openid,
        }),
    )
}

fn secret(state: &AppState, p: &Provider, value: String) -> ApiResult<Vec<u8>> {
    seal_client_secret(state, &p.zone_id, &p.id, value)
}

/// Checks (field `client_secret`, 1–4096 bytes; the value is never echoed) and seals the client
/// secret of provider `id` of `zone`.
pub(crate) fn seal_client_secret(
    state: &AppState,
    zone: &ZoneId,
    id: &ProviderId,
    value: String,
) -> ApiResult<Vec<u8>> {
    if value.is_empty() || value.len() > SECRET_MAX {
        return Err(ApiError::invalid_field(
            "client_secret",
            format!("must be 1 to {SECRET_MAX} bytes"),
        ));
    }
    Ok(state
        .sealer
        .seal(&seal_context(zone, id), value.as_bytes())?)
}

/// Checks a provider's `client_id` (1–255 characters).
pub(crate) fn client_id(v: String) -> ApiResult<String> {
    text::check_text("client_id", &v, 1, 255)?;
    Ok(v)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreateProvider,
) -> ApiResult<Provider> {
    let zone = access::zone(state, who, zone).await?;
    let identifier = validate::identifier("identifier", body.identifier)?;
    let name = text::name("name", body.name)?;
    let now = Timestamp::now();
    let mut p = Provider {
        zone_id: zone.id,
        id: ProviderId::new(new_id()?),
        organization_id: zone.organization_id,
        slug: text::slugify(&name, "provider"),
        protocols: body
            .protocols
            .map(|b| protocols_from(b, &identifier))
            .transpose()?
            .flatten(),
        identifier,
        name,
        owner_type: OwnerType::Customer,
        kind: ProviderType::External,
        client_id: body.client_id.map(client_id).transpose()?,
        client_secret: None,
        description: opt_description("description", body.description)?,
        icon_url: body.metadata.and_then(|m| m.icon_url),
        created_at: now,
        updated_at: now,
    };
    if let Some(u) = &p.icon_url {
        validate::http_url("metadata.icon_url", u)?;
    }
    if let Some(s) = body.client_secret {
        p.client_secret = Some(secret(state, &p, s)?);
    }
    let ident = p.identifier.clone();
    state.store.create_provider(p).await.map_err(|e| {
        taken(e, || {
            format!("a provider with identifier `{ident}` already exists in this zone")
        })
    })
}

fn patch_oauth2(
    current: Option<ProviderOAuth2>,
    patch: ProviderOAuth2Patch,
    identifier: &str,
) -> ApiResult<ProviderOAuth2> {
    let mut o = current.unwrap_or_else(|| ProviderOAuth2 {
        issuer: identifier.to_owned(),
        ..ProviderOAuth2::default()
    });
    if let Some(i) = required("protocols.oauth2.issuer", patch.issuer)? {
        o.issuer = i;
    }
    o.authorization_endpoint = patch.authorization_endpoint.apply(o.authorization_endpoint);
    o.authorization_parameters = patch
        .authorization_parameters
        .apply(o.authorization_parameters);
    o.authorization_resource_enabled = patch
        .authorization_resource_enabled
        .apply(o.authorization_resource_enabled);
    o.authorization_resource_parameter = patch
        .authorization_resource_parameter
        .apply(o.authorization_resource_parameter);
    o.code_challenge_methods_supported = patch
        .code_challenge_methods_supported
        .apply(o.code_challenge_methods_supported);
    o.jwks_uri = patch.jwks_uri.apply(o.jwks_uri);
    o.registration_endpoint = patch.registration_endpoint.apply(o.registration_endpoint);
    o.scope_parameter = patch.scope_parameter.apply(o.scope_parameter);
    o.scope_separator = patch.scope_separator.apply(o.scope_separator);
    o.scopes_supported = patch.scopes_supported.apply(o.scopes_supported);
    o.token_endpoint = patch.token_endpoint.apply(o.token_endpoint);
    o.token_response_access_token_pointer = patch
        .token_response_access_token_pointer
        .apply(o.token_response_access_token_pointer);
    check_oauth2(&o)?;
    Ok(o)
}

fn patch_openid(
    current: Option<ProviderOpenId>,
    patch: ProviderOpenIdPatch,
) -> ApiResult<ProviderOpenId> {
    let mut o = current.unwrap_or_default();
    o.scopes = patch.scopes.apply(o.scopes);
    o.single_logout_enabled = patch.single_logout_enabled.apply(o.single_logout_enabled);
    o.user_identifier_claim = patch.user_identifier_claim.apply(o.user_identifier_claim);
    o.userinfo_endpoint = patch.userinfo_endpoint.apply(o.userinfo_endpoint);
    check_openid(&o)?;
    Ok(o)
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: UpdateProvider,
) -> ApiResult<Provider> {
    let mut p = get_mut(state, who, zone, id).await?;
    if let Some(n) = required("name", body.name)? {
        p.name = text::name("name", n)?;
    }
    if let Some(i) = required("identifier", body.identifier)? {
        p.identifier = validate::identifier("identifier", i)?;
    }
    p.description = body
        .description
        .try_map(|d| text::description("description", d, text::DESCRIPTION_MAX))?
        .apply(p.description);
    p.client_id = body.client_id.try_map(client_id)?.apply(p.client_id);
    p.client_secret = match body.client_secret {
        Patch::Absent => p.client_secret.clone(),
        Patch::Null => None,
        Patch::Value(s) => Some(secret(state, &p, s)?),
    };
    p.icon_url = match body.metadata {
        Patch::Absent => p.icon_url,
        Patch::Null => None,
        // `{}` wipes the metadata, like `null` (spec §2.6).
        Patch::Value(m) if m.icon_url.is_absent() => None,
        Patch::Value(m) => m.icon_url.apply(p.icon_url),
    };
    if let Some(u) = &p.icon_url {
        validate::http_url("metadata.icon_url", u)?;
    }
    p.protocols = match body.protocols {
        Patch::Absent => p.protocols,
        Patch::Null => None,
        Patch::Value(patch) => {
            let current = p.protocols.unwrap_or_default();
            let oauth2 = match patch.oauth2 {
                Patch::Absent => current.oauth2,
                Patch::Null => None,
                Patch::Value(o) => Some(patch_oauth2(current.oauth2, o, &p.identifier)?),
            };
            let openid = match patch.openid {
                Patch::Absent => current.openid,
                Patch::Null => None,
                Patch::Value(o) => Some(patch_openid(current.openid, o)?),
            };
            (oauth2.is_some() || openid.is_some()).then_some(ProviderProtocols { oauth2, openid })
        }
    };
    p.updated_at = Timestamp::now();
    state.store.update_provider(&p).await.map_err(|e| {
        taken(e, || {
            format!(
                "a provider with identifier `{}` already exists in this zone",
                p.identifier
            )
        })
    })?;
    Ok(p)
}

pub async fn delete(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<()> {
    let p = get_mut(state, who, zone, id).await?;
    state.store.delete_provider(&p.zone_id, &p.id).await?;
    Ok(())
}
