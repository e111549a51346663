//! `/zones`: list, create, retrieve, update, delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::ZoneFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::ZoneListParams;
use crate::api::envelope::ZoneList;
use crate::api::zone::{CreateZone, UpdateZone, ZoneView};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::{access, zones};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(list_keys))
        .routes(routes!(rotate_keys))
}

fn view(state: &AppState, grants: &Grants, zone: Zone, with_permissions: bool) -> ZoneView {
    let perms = with_permissions.then(|| access::permissions(grants, Some(&zone)));
    let issuer = state.zone_issuer(zone.id.as_str());
    ZoneView::new(zone, issuer, perms)
}

#[utoipa::path(get, path = "/zones", tag = "zones", params(ZoneListParams),
    responses((status = 200, body = ZoneList<ZoneView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "`filter[organization_id]` names no organization (platform admins)")))]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ZoneView>>> {
    let expand = q.expand(&["total_count", "permissions"])?;
    let page = q.page(&expand, &[])?;
    let filter = ZoneFilter {
        slug: q
            .get("slug")
            .or_else(|| q.get("filter[slug]"))
            .map(str::to_owned),
    };
    let zones = zones::list(&s, &who, q.get("filter[organization_id]"), filter, &page).await?;
    let perms = expand.iter().any(|e| e == "permissions");
    Ok(Json(ZoneList::from_page(zones, |z| {
        view(&s, &grants, z, perms)
    })))
}

#[utoipa::path(post, path = "/zones", tag = "zones", request_body = CreateZone,
    responses((status = 201, body = ZoneView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "`organization_id` names no organization (platform admins)")))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    JsonBody(body): JsonBody<CreateZone>,
) -> ApiResult<(StatusCode, Json<ZoneView>)> {
    let zone = zones::create(&s, &who, body).await?;
    Ok((StatusCode::CREATED, Json(view(&s, &grants, zone, false))))
}

#[utoipa::path(get, path = "/zones/{zone_id}", tag = "zones",
    params(("zone_id" = String, Path), ("expand[]" = Option<Vec<String>>, Query, description = "`permissions`")),
    responses((status = 200, body = ZoneView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(id): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneView>> {
    let expand = q.expand(&["permissions"])?;
    let zone = access::zone(&s, &who, &id).await?;
    Ok(Json(view(&s, &grants, zone, !expand.is_empty())))
}

#[utoipa::path(patch, path = "/zones/{zone_id}", tag = "zones", params(("zone_id" = String, Path)), request_body = UpdateZone,
    responses((status = 200, body = ZoneView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateZone>,
) -> ApiResult<Json<ZoneView>> {
    let zone = zones::update(&s, &who, &id, body).await?;
    Ok(Json(view(&s, &grants, zone, false)))
}

#[utoipa::path(delete, path = "/zones/{zone_id}", tag = "zones", params(("zone_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    zones::delete(&s, &who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A signing key as the management API shows it: public parts and lifecycle only.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct KeyView {
    kid: String,
    alg: String,
    /// `next` (published, not yet signing), `current` (signing) or `previous` (retired, still published).
    status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    created_at: latchkey_domain::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    activated_at: Option<latchkey_domain::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    retire_at: Option<latchkey_domain::Timestamp>,
    #[schema(value_type = Object)]
    public_jwk: serde_json::Value,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct KeyList {
    items: Vec<KeyView>,
}

async fn key_list(s: &AppState, who: &Principal, id: &str) -> ApiResult<KeyList> {
    let keys = zones::list_keys(s, who, id).await?;
    let items = keys
        .into_iter()
        .map(|k| KeyView {
            kid: k.kid,
            alg: k.alg,
            status: k.status.as_str(),
            created_at: k.created_at,
            activated_at: k.activated_at,
            retire_at: k.retire_at,
            public_jwk: k.public_jwk,
        })
        .collect();
    Ok(KeyList { items })
}

/// Latchkey extension: the zone's signing keys.
#[utoipa::path(get, path = "/zones/{zone_id}/signing-keys", tag = "zones", params(("zone_id" = String, Path)),
    responses((status = 200, body = KeyList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_keys(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<KeyList>> {
    Ok(Json(key_list(&s, &who, &id).await?))
}

/// Latchkey extension: rotate the zone's signing keys now (next → current → previous).
#[utoipa::path(post, path = "/zones/{zone_id}/signing-keys/rotate", tag = "zones", params(("zone_id" = String, Path)),
    responses((status = 200, body = KeyList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_keys(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<KeyList>> {
    zones::rotate_keys(&s, &who, &id).await?;
    Ok(Json(key_list(&s, &who, &id).await?))
}
