//! The route guard: before any handler of a management route runs, the caller is authenticated
//! and the operation (named from the route by `service::authz::Operation::of`) is decided by the
//! authorization table. Refused → 403 when the caller can see the object, 404 when it cannot
//! (a zone an `org_member` is not a member of). The principal and its grants are left in the
//! request for the handler (`Auth`, `Grants` extractors), so nothing is looked up twice.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::access::Principal;

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::service::access;
use crate::service::authz::{Action, Grants, Level, Operation, Scope};
use crate::state::AppState;

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let op = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| Operation::of(req.method().as_str(), m.as_str()));
    let Some(op) = op else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok();
    let param = |name: &str| {
        params.as_ref().and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        })
    };
    let (org, zone) = (param("organization_id"), param("zone_id"));
    match admit(&state, &parts, op, org, zone).await {
        Ok((who, grants)) => {
            parts.extensions.insert(Auth(who));
            parts.extensions.insert(grants);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

/// Authenticates the caller (named to the audit log, refused or not) and decides `op`.
async fn admit(
    state: &AppState,
    parts: &Parts,
    op: Operation,
    org: Option<String>,
    zone: Option<String>,
) -> ApiResult<(Principal, Grants)> {
    let who = Auth::resolve(state, &parts.headers).await?;
    crate::audit::identify(&parts.extensions, &who);
    let grants = access::grants(state, &who).await?;
    decide(state, &who, &grants, op, org, zone).await?;
    Ok((who, grants))
}

/// Decides `op` for `who`. Objects of another organization are left to the handler, which
/// refuses them as before (`service::access`).
async fn decide(
    state: &AppState,
    who: &Principal,
    grants: &Grants,
    op: Operation,
    org: Option<String>,
    zone: Option<String>,
) -> ApiResult<()> {
    let machine = matches!(grants, Grants::Machine { .. });
    match op.scope {
        // Machine credentials manage every zone of their organization (the handler keeps them
        // to it): no look-up on their path.
        Scope::Zone if machine => Ok(()),
        Scope::Zone => {
            let Some(zone_id) = zone else {
                return Err(ApiError::internal());
            };
            let Some(zone) = state.store.get_zone(&ZoneId::new(&zone_id)).await? else {
                return Ok(());
            };
            if &zone.organization_id != who.organization_id() || grants.allows(op, Some(&zone.id)) {
                return Ok(());
            }
            if grants.zone_level(&zone.id) == Level::None {
                return Err(ApiError::not_found(format!("zone `{zone_id}`")));
            }
            Err(refused(op))
        }
        Scope::Organization => {
            // `GET /organizations` lists only what the caller belongs to (nothing, before a person
            // has joined).
            if org.is_none() && op.resource == "organizations" && op.action == Action::Read {
                return Ok(());
            }
            if let Some(org) = org.filter(|_| !machine) {
                let own = access::names_organization(state, who.organization_id(), &org).await?;
                if !own {
                    return Ok(());
                }
            }
            if grants.allows(op, None) {
                Ok(())
            } else {
                Err(refused(op))
            }
        }
    }
}

fn refused(op: Operation) -> ApiError {
    ApiError::forbidden(format!(
        "your role does not allow `{}` on `{}`",
        op.action.as_str(),
        op.resource
    ))
}
