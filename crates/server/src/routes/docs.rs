//! The OpenAPI document's frame (title, security scheme) and the query-parameter sets shared by
//! list endpoints, used only for documentation.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey management API", description = "The Keycard management API, as served by Latchkey."),
    modifiers(&BearerAuth),
    security(("bearer_auth" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Organization-family list parameters (un-bracketed `expand`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrgListParams {
    /// Cursor: return items after this one.
    after: Option<String>,
    /// Cursor: return items before this one.
    before: Option<String>,
    /// 1–100, default 50.
    limit: Option<u32>,
    /// `permissions`, `total_count` (repeatable; `expand[]` also accepted).
    expand: Option<Vec<String>>,
}

/// Zone-family list parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ZoneListParams {
    after: Option<String>,
    before: Option<String>,
    /// Legacy synonym of `after`.
    cursor: Option<String>,
    /// 1–100, default 50.
    limit: Option<u32>,
    /// `total_count`, `permissions` (repeatable; `expand` also accepted).
    #[param(rename = "expand[]")]
    expand: Option<Vec<String>>,
    /// Restrict to one organization (platform admins).
    #[param(rename = "filter[organization_id]")]
    organization_id: Option<String>,
    /// Exact slug match (`filter[slug]` also accepted).
    slug: Option<String>,
}
