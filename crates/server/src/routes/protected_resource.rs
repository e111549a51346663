//! `GET /.well-known/oauth-protected-resource`: the management API's RFC 9728 protected-resource
//! metadata. It names the authorization server where people get a management token (an
//! organization's platform zone) so that clients such as `latchkey login` need only the server
//! URL. Unauthenticated, like `health`: nothing in it is secret.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use latchkey_domain::id::OrganizationId;
use latchkey_domain::model::organization::Organization;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/oauth-protected-resource", get(metadata))
}

#[derive(Deserialize)]
struct MetadataQuery {
    /// The organization (id or label) whose platform zone to name; default: the default one.
    organization: Option<String>,
}

async fn metadata(State(s): State<AppState>, Query(q): Query<MetadataQuery>) -> Response {
    match platform_zone_issuer(&s, q.organization.as_deref()).await {
        Ok(issuer) => axum::Json(serde_json::json!({
            "resource": &*s.public_url,
            "authorization_servers": [issuer],
            "bearer_methods_supported": ["header"],
            "resource_name": "Latchkey management API",
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The issuer of the platform zone of `organization` (an id or a label), or of the default
/// organization.
async fn platform_zone_issuer(s: &AppState, organization: Option<&str>) -> ApiResult<String> {
    let org = match organization {
        None => s.store.get_organization(&s.default_org).await?,
        Some(key) => find_organization(s, key).await?,
    };
    let org = org.ok_or_else(|| {
        ApiError::not_found(format!("organization `{}`", organization.unwrap_or("")))
    })?;
    Ok(s.zone_issuer(org.zone_id.as_str()))
}

async fn find_organization(s: &AppState, key: &str) -> ApiResult<Option<Organization>> {
    if let Some(org) = s.store.get_organization(&OrganizationId::new(key)).await? {
        return Ok(Some(org));
    }
    Ok(s.store.find_organization_by_label(key).await?)
}
