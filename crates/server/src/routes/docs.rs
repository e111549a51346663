//! The OpenAPI document's frame (title, security scheme), the error answers every operation shares
//! (documented once, from what the shared extractors do) and the query-parameter sets shared by
//! list endpoints, used only for documentation.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
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

/// Adds to every operation the error answers that come from the shared extractors and access
/// checks rather than from the handler, so each route's annotation lists only its own:
/// 401 (`Auth`: no or unknown bearer token) and 403 (`service::access`: another organization's
/// object, a platform-owned one, an admin-only action) on authenticated operations; 404 where the
/// path names an object; 400 where a body or query is parsed (`JsonBody`, `QueryMap`); 413 and
/// 415 where a JSON body is read (`JsonBody`). All carry the `{message, code, status}` body.
pub fn document_shared_errors(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let authenticated = !is_public(op);
            let has_body = op.request_body.is_some();
            let has_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == ParameterIn::Query);
            let shared = [
                (400, "invalid body or query", has_body || has_query),
                (401, "missing or unknown bearer token", authenticated),
                (403, "not accessible to this principal", authenticated),
                (404, "no such object", has_path_params),
                (413, "body over 1 MiB", has_body),
                (415, "body is not `application/json`", has_body),
            ];
            for (status, description, applies) in shared {
                if applies {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

/// `security: [{}]`: the operation needs no credentials.
fn is_public(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().all(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        })
    })
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// What the organization family's `expand` accepts.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrgExpand {
    Permissions,
    TotalCount,
}

/// What `GET /zones`' `expand[]` accepts.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ZoneListExpand {
    TotalCount,
    Permissions,
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
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `permissions`, `total_count` (repeatable; `expand[]` also accepted).
    #[param(inline, value_type = Option<Vec<OrgExpand>>)]
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
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `total_count`, `permissions` (repeatable; `expand` also accepted).
    #[param(rename = "expand[]", inline, value_type = Option<Vec<ZoneListExpand>>)]
    expand: Option<Vec<String>>,
    /// Restrict to one organization (platform admins).
    #[param(rename = "filter[organization_id]")]
    organization_id: Option<String>,
    /// Exact slug match (`filter[slug]` also accepted).
    slug: Option<String>,
}
