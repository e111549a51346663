//! The HTTP surface: one module per resource, each with its own `router()`. `app()` assembles
//! them with the shared middleware (body limit, the edge of `edge.rs`: header limits, timeout and
//! JSON error bodies, tracing, panic catching, the request id), audits the management routes'
//! writes (`crate::audit`) and collects the OpenAPI document served at
//! `/openapi.json`.

mod app_credentials;
mod applications;
mod audit_events;
mod docs;
pub mod edge;
pub mod guard;
mod health;
mod identity;
mod invitations;
mod list;
mod members;
mod organizations;
mod policies;
mod policy_bundle;
mod policy_decisions;
mod policy_sets;
mod protected_resource;
mod providers;
mod resources;
mod sa_token;
mod secrets;
mod service_accounts;
mod sso;
mod unread_body;
pub mod zone;
mod zones;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Default bound on a whole request, body reading included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole application, with the default request timeout.
pub fn app(state: AppState) -> Router {
    app_with(state, REQUEST_TIMEOUT)
}

/// The whole application; requests not complete within `request_timeout` answer 408.
pub fn app_with(state: AppState, request_timeout: Duration) -> Router {
    let (router, mut openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(organizations::router())
        .merge(service_accounts::router())
        .merge(sso::router())
        .merge(zones::router())
        .merge(applications::router())
        .merge(app_credentials::router())
        .merge(providers::router())
        .merge(resources::router())
        .merge(secrets::router())
        .merge(identity::router())
        .merge(invitations::router())
        .merge(members::router())
        .merge(audit_events::router())
        .merge(policies::router())
        .merge(policy_sets::router())
        .merge(policy_decisions::router())
        .merge(policy_bundle::router())
        .split_for_parts();
    docs::document_shared_errors(&mut openapi);
    // Every management route passes the authorization table first.
    let router = router.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guard::guard,
    ));
    let openapi_json = openapi.to_json().unwrap_or_else(|_| "{}".to_owned());
    let zone_domain = state.zone_domain.clone();
    // Every management route is audited (writes only); the zone endpoints are not.
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::audit::record,
    ));
    // The API the console calls in process: the management routes (and the service-account
    // token endpoint), with the cache invalidation a write needs, and the zone endpoints.
    let api = router
        .merge(sa_token::router())
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            announce_zone_change,
        ))
        .merge(crate::routes::zone::router().with_state(state.clone()));
    let console = crate::console::router(state.clone(), api.clone());
    let inner = api
        .merge(console)
        .merge(
            health::router(openapi_json)
                .merge(protected_resource::router())
                .with_state(state),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // (inside routing, so the route template is known)
        .layer(axum::middleware::from_fn(crate::metrics::record));
    let rewrite = move |mut req: Request| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        if let Some(path) =
            crate::routes::zone::normalize_path(req.uri().path(), host, zone_domain.as_deref())
        {
            let pq = match req.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            if let Ok(uri) = pq.parse::<Uri>() {
                *req.uri_mut() = uri;
            }
        }
        req
    };
    // The shared middleware wraps the whole router once, outermost first. (`Router::layer`
    // would wrap every route separately: dozens of boxed clones and future copies per request.)
    let stack = tower::ServiceBuilder::new()
        .map_request(rewrite)
        .layer(axum::middleware::from_fn(crate::audit::request_id::assign))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .extensions()
                        .get::<crate::audit::request_id::RequestId>();
                    crate::ops::request_trace::request_span(
                        req.method(),
                        &loggable_path(req.uri().path()),
                        id.map_or("", |id| &id.0),
                        req.headers(),
                    )
                })
                .on_response(crate::ops::access_log::AccessLine),
        )
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            edge::edge,
        ))
        // (a bare 500: the edge gives it the body of the path's family)
        .layer(CatchPanicLayer::custom(|_| {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .service(inner);
    Router::new().fallback_service(stack)
}

/// A request path as logged: no query string (it carries codes, states and invitation tokens),
/// and any secret-looking segment (`lk_…`, e.g. an invitation token) replaced.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains("/lk_") {
        return path.into();
    }
    path.split('/')
        .map(|seg| {
            if seg.starts_with("lk_") {
                "{secret}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

/// After any management write under `/zones/{zone_id}` that succeeded, the zone's caches go
/// stale on every instance (`Services::zone_changed`), so the token endpoint sees the change at
/// once. A refused write changed nothing and announces nothing: otherwise anyone could make every
/// instance remember any made-up zone id from a path (the epochs map keeps one entry per zone).
async fn announce_zone_change(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let zone = (req.method() != Method::GET)
        .then(|| {
            req.uri()
                .path()
                .strip_prefix("/zones/")
                .and_then(|rest| rest.split('/').next())
                .filter(|id| !id.is_empty())
                .map(latchkey_domain::id::ZoneId::new)
        })
        .flatten();
    let res = next.run(req).await;
    if let Some(zone) = zone
        && res.status().is_success()
    {
        state.zone_changed(&zone);
    }
    res
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    edge::error_for(
        path,
        StatusCode::NOT_FOUND,
        format!("route `{method} {path}` not found"),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    edge::error_for(
        path,
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method `{method}` is not allowed on `{path}`"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn logged_paths_carry_no_secrets() {
        assert_eq!(
            super::loggable_path("/invitations/lk_inv_abc/accept"),
            "/invitations/{secret}/accept"
        );
        assert_eq!(super::loggable_path("/zones/z1/users"), "/zones/z1/users");
    }
}
