//! `/zones/{zone_id}/users`, `/user-agents`, `/sessions` and `/delegated-grants`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::id::{ResourceId, UserId};
use latchkey_domain::model::identity::{SessionType, Status};
use latchkey_domain::store::{GrantFilter, SessionFilter, UserFilter};
use latchkey_domain::{ListFilter, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list;
use crate::api::envelope::ZoneList;
use crate::api::identity::{GrantView, RevokeBody, SessionView, UserAgentView, UserView};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::identity as svc;
use crate::state::AppState;

const USER_EXPAND: &[&str] = &[
    "total_count",
    "session_count",
    "grant_count",
    "role-assignments",
    "groups",
    "credentials",
    "credentials.provider",
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(list_user_agents))
        .routes(routes!(get_user_agent, delete_user_agent))
        .routes(routes!(list_sessions))
        .routes(routes!(get_session, revoke_session, delete_session))
        .routes(routes!(list_grants))
        .routes(routes!(get_grant, revoke_grant, delete_grant))
}

type P2 = Path<(String, String)>;

/// Fills the expansions asked for; Latchkey has no groups or roles yet, so those are empty.
async fn expand_user(
    s: &AppState,
    user: latchkey_domain::model::identity::User,
    expand: &[String],
) -> ApiResult<UserView> {
    let has = |e: &str| expand.iter().any(|x| x == e);
    let counts = if has("session_count") || has("grant_count") {
        Some(svc::user_counts(s, &user).await?)
    } else {
        None
    };
    let credentials =
        (has("credentials") || has("credentials.provider")).then(|| credentials_of(&user));
    let mut view = UserView::from(user);
    view.session_count = counts.filter(|_| has("session_count")).map(|c| c.0);
    view.grant_count = counts.filter(|_| has("grant_count")).map(|c| c.1);
    view.role_assignments = has("role-assignments").then(Vec::new);
    view.groups = has("groups").then(Vec::new);
    view.credentials = credentials;
    Ok(view)
}

fn credentials_of(u: &latchkey_domain::model::identity::User) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let (created, updated) = (u.created_at.to_rfc3339(), u.updated_at.to_rfc3339());
    if u.subject.is_some() {
        out.push(
            serde_json::json!({"type": "federation", "created_at": created, "updated_at": updated,
            "provider_id": u.provider_id, "issuer": u.issuer, "subject": u.subject}),
        );
    }
    if u.password_hash.is_some() {
        out.push(
            serde_json::json!({"type": "password", "created_at": created, "updated_at": updated}),
        );
    }
    out
}

#[utoipa::path(get, path = "/zones/{zone_id}/users", tag = "users", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<UserView>), (status = 400, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<UserView>>> {
    let expand = q.expand(USER_EXPAND)?;
    let mut page = q.page(&expand, &["created_at", "email", "authenticated_at"])?;
    q.one_of("role_source", &["user", "group", "all"])?;
    let mut ids = q.ids(&mut page)?;
    // No groups or roles exist yet: asking for members of any matches nobody.
    if !q.all("filter[groups]").is_empty() || !q.all("filter[role]").is_empty() {
        ids = Some(Vec::new());
    }
    let filter = UserFilter {
        list: ListFilter {
            ids,
            ..ListFilter::default()
        }
        .exact(
            "email",
            q.all("filter[email]")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
        .exact(
            "identifier",
            q.all("filter[identifier]")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
        .exact(
            "subject",
            q.all("filter[subject]")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
        .exact(
            "issuer",
            q.all("filter[issuer]")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
        .search(&["email", "subject"], q.any_terms()?)
        .search(&["email"], q.terms("query[email]")?)
        .search(&["subject"], q.terms("query[subject]")?),
        external: q.flag("filter[external]")?,
    };
    let users = svc::list_users(&s, &who, &zone, &filter, &page).await?;
    let mut items = Vec::with_capacity(users.items.len());
    let (has_next, has_prev, total, start, end) = (
        users.has_next,
        users.has_prev,
        users.total,
        users.start.clone(),
        users.end.clone(),
    );
    for u in users.items {
        items.push(expand_user(&s, u, &expand).await?);
    }
    let page = latchkey_domain::Page {
        items,
        has_next,
        has_prev,
        total,
        start,
        end,
    };
    Ok(Json(ZoneList::from_page(page, |v| v)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/users/{id}", tag = "users",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    q: QueryMap,
) -> ApiResult<Json<UserView>> {
    let expand = q.expand(&["role-assignments", "groups"])?;
    q.one_of("role_source", &["user", "group", "all"])?;
    let user = svc::get_user(&s, &who, &zone, &id).await?;
    Ok(Json(expand_user(&s, user, &expand).await?))
}

#[utoipa::path(get, path = "/zones/{zone_id}/user-agents", tag = "user-agents", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<UserAgentView>)))]
async fn list_user_agents(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<UserAgentView>>> {
    let page = list::page(&q, &[])?;
    Ok(Json(ZoneList::from_page(
        svc::list_user_agents(&s, &who, &zone, &page).await?,
        UserAgentView::from,
    )))
}

#[utoipa::path(get, path = "/zones/{zone_id}/user-agents/{id}", tag = "user-agents",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = UserAgentView), (status = 404, body = ErrorBody)))]
async fn get_user_agent(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<Json<UserAgentView>> {
    Ok(Json(
        svc::get_user_agent(&s, &who, &zone, &id).await?.into(),
    ))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/user-agents/{id}", tag = "user-agents",
    description = "Latchkey extension: deletes a registered client with its sessions, consents and refresh tokens.",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_user_agent(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<StatusCode> {
    svc::delete_user_agent(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn status_param(q: &QueryMap) -> ApiResult<Option<Status>> {
    let status = q
        .one_of("status", &["active", "expired", "revoked"])?
        .and_then(Status::parse);
    let active = q.flag("active")?.filter(|a| *a).map(|_| Status::Active);
    Ok(status.or(active))
}

#[utoipa::path(get, path = "/zones/{zone_id}/sessions", tag = "sessions", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<SessionView>), (status = 400, body = ErrorBody)))]
async fn list_sessions(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<SessionView>>> {
    let page = list::page(&q, &[])?;
    let filter = SessionFilter {
        include_nested: q.flag("include_nested")?.unwrap_or(false),
        session_type: q
            .one_of("session_type", &["user", "application"])?
            .map(|t| {
                if t == "user" {
                    SessionType::User
                } else {
                    SessionType::Application
                }
            }),
        status: status_param(&q)?,
        user_id: q.get("user_id").map(UserId::new),
    };
    let now = Timestamp::now();
    Ok(Json(ZoneList::from_page(
        svc::list_sessions(&s, &who, &zone, &filter, &page).await?,
        |x| SessionView::new(x, now),
    )))
}

#[utoipa::path(get, path = "/zones/{zone_id}/sessions/{id}", tag = "sessions",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)))]
async fn get_session(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(SessionView::new(
        svc::get_session(&s, &who, &zone, &id).await?,
        Timestamp::now(),
    )))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/sessions/{id}", tag = "sessions",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = RevokeBody,
    responses((status = 200, body = SessionView), (status = 400, body = ErrorBody)))]
async fn revoke_session(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    JsonBody(body): JsonBody<RevokeBody>,
) -> ApiResult<Json<SessionView>> {
    Ok(Json(SessionView::new(
        svc::revoke_session(&s, &who, &zone, &id, &body).await?,
        Timestamp::now(),
    )))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/sessions/{id}", tag = "sessions",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_session(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<StatusCode> {
    svc::delete_session(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/zones/{zone_id}/delegated-grants", tag = "delegated-grants", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<GrantView>), (status = 400, body = ErrorBody)))]
async fn list_grants(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<GrantView>>> {
    let page = list::page(&q, &["created_at"])?;
    let filter = GrantFilter {
        status: status_param(&q)?,
        user_id: q.get("user_id").map(UserId::new),
        resource_id: q.get("resource_id").map(ResourceId::new),
    };
    let now = Timestamp::now();
    Ok(Json(ZoneList::from_page(
        svc::list_grants(&s, &who, &zone, &filter, &page).await?,
        |g| GrantView::new(g, now),
    )))
}

#[utoipa::path(get, path = "/zones/{zone_id}/delegated-grants/{id}", tag = "delegated-grants",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = GrantView), (status = 404, body = ErrorBody)))]
async fn get_grant(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<Json<GrantView>> {
    Ok(Json(GrantView::new(
        svc::get_grant(&s, &who, &zone, &id).await?,
        Timestamp::now(),
    )))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/delegated-grants/{id}", tag = "delegated-grants",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = RevokeBody,
    responses((status = 200, body = GrantView), (status = 400, body = ErrorBody)))]
async fn revoke_grant(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    JsonBody(body): JsonBody<RevokeBody>,
) -> ApiResult<Json<GrantView>> {
    Ok(Json(GrantView::new(
        svc::revoke_grant(&s, &who, &zone, &id, &body).await?,
        Timestamp::now(),
    )))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/delegated-grants/{id}", tag = "delegated-grants",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_grant(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<StatusCode> {
    svc::delete_grant(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
