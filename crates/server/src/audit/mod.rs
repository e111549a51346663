//! The audit trail of the management API: the middleware around its routes that records every
//! request other than GET/HEAD/OPTIONS after its response — time, actor, action, object, zone,
//! organization, request id, source address, outcome — and hands it to the buffered writer
//! (`latchkey_oauth::audit_log`, which also records sign-ins). Never a body field, a secret or a
//! token: the action and object come from the matched route (`action.rs`), and a create's id
//! from the `id` of a small JSON response.
//!
//! The actor is the principal the `Auth` extractor resolved, which it reports through the slot
//! this middleware leaves in the request's extensions ([`identify`]). An event is filed under
//! the actor's own organization — so one organization's log never shows another's callers, even
//! when they tried its ids — except for platform-admin keys and unauthenticated requests, which
//! are filed under the organization the path names (`{organization_id}`, or the zone's); an event
//! that names none is not kept. Finding it may read the store, so it happens in a spawned task after the response.

pub mod action;
pub mod request_id;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::audit::{AuditActor, AuditEvent, Outcome};

use crate::state::AppState;
use action::Described;

/// Largest response body read for a created object's `id`.
const MAX_ID_BODY: usize = 64 * 1024;

/// Where the `Auth` extractor leaves the principal for the audit middleware.
#[derive(Clone, Default)]
pub struct Identified(Arc<OnceLock<Principal>>);

/// Reports the request's authenticated principal to the audit middleware (when it is watching).
pub fn identify(ext: &axum::http::Extensions, principal: &Principal) {
    if let Some(slot) = ext.get::<Identified>() {
        let _ = slot.0.set(principal.clone());
    }
}

/// What the middleware knows once the response is ready; filed by [`file`].
struct Draft {
    at: Timestamp,
    described: Described,
    principal: Option<Principal>,
    request_id: String,
    source_address: String,
    status: u16,
}

/// Middleware over the management routes: records every write after its response.
pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let at = Timestamp::now();
    let described = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| action::describe(req.method(), m.as_str(), req.uri().path()));
    let slot = Identified::default();
    req.extensions_mut().insert(slot.clone());
    let request_id = request_id::of(req.extensions());
    let source_address = crate::extract::client_ip(req.extensions()).to_string();
    let res = next.run(req).await;
    let Some(mut described) = described else {
        return res;
    };
    let status = res.status();
    let res = if described.id_from_response && status.is_success() {
        let (res, id) = created_id(res).await;
        described.object_id = id;
        res
    } else {
        res
    };
    let draft = Draft {
        at,
        described,
        principal: slot.0.get().cloned(),
        request_id,
        source_address,
        status: status.as_u16(),
    };
    tokio::spawn(file(state, draft));
    res
}

/// The `id` of a small JSON response body, and the response rebuilt.
async fn created_id(res: Response) -> (Response, Option<String>) {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let small = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_ID_BODY as u64);
    if !is_json || !small {
        return (res, None);
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ID_BODY).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    #[derive(serde::Deserialize)]
    struct WithId {
        id: Option<String>,
    }
    let id = serde_json::from_slice::<WithId>(&bytes)
        .ok()
        .and_then(|w| w.id);
    (Response::from_parts(parts, Body::from(bytes)), id)
}

/// Finds the event's organization and buffers it.
async fn file(state: AppState, draft: Draft) {
    let Draft {
        at,
        described: d,
        principal,
        request_id,
        source_address,
        status,
    } = draft;
    let zone_id = match (&d.zone_id, d.object_type.as_str()) {
        (Some(z), _) => Some(z.clone()),
        (None, "zone") => d.object_id.clone(),
        _ => None,
    };
    let Some(organization_id) =
        organization(&state, &d, zone_id.as_deref(), principal.as_ref()).await
    else {
        return;
    };
    state.audit.record(AuditEvent {
        organization_id,
        id: latchkey_oauth::audit_log::new_id(),
        created_at: at,
        actor: principal.as_ref().map(|p| AuditActor {
            id: p.actor_id().to_owned(),
            kind: p.kind().to_owned(),
        }),
        action: d.action,
        object_type: Some(d.object_type),
        object_id: d.object_id,
        zone_id: zone_id.map(ZoneId::new),
        request_id,
        source_address: Some(source_address),
        outcome: Outcome::of_status(status),
        status,
    });
}

/// The actor's organization; for platform admins and unauthenticated callers the one the path
/// names (directly or through its zone).
async fn organization(
    state: &AppState,
    d: &Described,
    zone_id: Option<&str>,
    principal: Option<&Principal>,
) -> Option<OrganizationId> {
    if let Some(p) = principal
        && !p.is_platform_admin()
    {
        return Some(p.organization_id().clone());
    }
    if let Some(org) = &d.organization
        && let Some(id) = organization_by_id_or_label(state, org).await
    {
        return Some(id);
    }
    if let Some(zone) = zone_id
        && let Ok(entry) = state.zone(zone).await
    {
        return Some(entry.zone.organization_id.clone());
    }
    principal.map(|p| p.organization_id().clone())
}

async fn organization_by_id_or_label(state: &AppState, org: &str) -> Option<OrganizationId> {
    if let Ok(Some(o)) = state
        .store
        .get_organization(&OrganizationId::new(org))
        .await
    {
        return Some(o.id);
    }
    match state.store.find_organization_by_label(org).await {
        Ok(Some(o)) => Some(o.id),
        _ => None,
    }
}
