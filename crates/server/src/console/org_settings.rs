//! The organization's SSO connection (enable, edit, disable) and its audit log.

use axum::Form;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::Value;

use super::ConsoleState;
use super::api::{ApiFailure, with_query};
use super::directory::{self, properties};
use super::forms::{self, Submitted};
use super::kinds::{Field, Input};
use super::layout::{self, csrf_field, show};
use super::session::Ctx;

use super::org::{PageQuery, org_page, org_path};

const SSO: &[Field] = &[
    Field::new("identifier", "Identity provider (issuer URL)", Input::Url).required(),
    Field::new("client_id", "Client id", Input::Text).required(),
    Field::new("client_secret", "Client secret", Input::Secret)
        .hint("Stored encrypted; leave empty to keep the current one."),
    Field::new("protocols.openid.scopes", "Extra scopes", Input::Lines),
    Field::new(
        "protocols.openid.user_identifier_claim",
        "User identifier claim",
        Input::Text,
    )
    .hint("Default: sub."),
];

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/sso", get(sso).post(save_sso))
        .route("/console/sso/disable", post(disable_sso))
        .route("/console/audit", get(audit))
}

async fn sso(ctx: Ctx, Query(q): Query<PageQuery>) -> Response {
    sso_page(&ctx, q.notice.as_deref(), None, None).await
}

/// The SSO page; after a refusal, its `error` and the form filled with what was `entered`
/// (secrets left out).
async fn sso_page(
    ctx: &Ctx,
    notice: Option<&str>,
    error: Option<&ApiFailure>,
    entered: Option<&Value>,
) -> Response {
    let conn = match ctx
        .api
        .get(&ctx.call(), &org_path(ctx, "sso-connection"))
        .await
    {
        Ok(c) => Some(c),
        Err(e) if e.status == StatusCode::NOT_FOUND => None,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let body = html! {
        (layout::notice(notice))
        @if let Some(e) = error { (layout::alert(e)) }
        @match &conn {
            Some(c) => {
                p { "People of this organization sign in through " strong { (show(c.get("identifier"))) } "." }
                (properties(c))
                h2 { "Edit" }
                form.card method="post" action="/console/sso" { (csrf_field(ctx)) input type="hidden" name="mode" value="update"; (directory::inputs(SSO, entered.unwrap_or(c), &Default::default())) button type="submit" #save-sso { "Save" } }
                h2 { "Disable" }
                form method="post" action="/console/sso/disable" data-confirm="Disable SSO? People then sign in with email and password." { (csrf_field(ctx)) button.danger type="submit" { "Disable SSO" } }
            },
            None => {
                (layout::empty("SSO connection", "Connect your identity provider (OpenID Connect) so people sign in with their company account. New people still need an invitation."))
                form.card method="post" action="/console/sso" { (csrf_field(ctx)) input type="hidden" name="mode" value="enable"; (directory::inputs(SSO, entered.unwrap_or(&Value::Null), &Default::default())) button type="submit" #enable-sso { "Enable SSO" } }
            },
        }
    };
    org_page(ctx, "Single sign-on", "sso", body)
}

async fn save_sso(ctx: Ctx, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let update = form.get("mode") == Some("update");
    let entered = directory::echo(SSO, &form);
    let body = match forms::body(SSO, &form, update) {
        Ok(b) => b,
        Err(e) => return sso_page(&ctx, None, Some(&directory::invalid(e)), Some(&entered)).await,
    };
    let path = org_path(&ctx, "sso-connection");
    let result = if update {
        ctx.api.patch(&ctx.call(), &path, &body).await
    } else {
        ctx.api.post(&ctx.call(), &path, &body).await
    };
    match result {
        Ok(_) => layout::redirect_notice("/console/sso", "SSO connection saved."),
        Err(e) => sso_page(&ctx, None, Some(&e), Some(&entered)).await,
    }
}

async fn disable_sso(ctx: Ctx, form: Form<Vec<(String, String)>>) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(&ctx.call(), &org_path(&ctx, "sso-connection"))
        .await
    {
        Ok(_) => layout::redirect_notice("/console/sso", "SSO disabled."),
        Err(e) => sso_page(&ctx, None, Some(&e), None).await,
    }
}

#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    after: Option<String>,
    before: Option<String>,
    actor_id: Option<String>,
    action: Option<String>,
    zone_id: Option<String>,
}

async fn audit(ctx: Ctx, Query(q): Query<AuditQuery>) -> Response {
    let keep = [
        ("actor_id", q.actor_id.as_deref().unwrap_or("")),
        ("action", q.action.as_deref().unwrap_or("")),
        ("zone_id", q.zone_id.as_deref().unwrap_or("")),
    ];
    let mut params = vec![
        ("limit", "50"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
    ];
    params.extend(keep);
    let list = match ctx
        .api
        .get(
            &ctx.call(),
            &with_query(&org_path(&ctx, "audit-events"), &params),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let items = layout::items(&list);
    let body = html! {
        form.toolbar method="get" action="/console/audit" {
            @for (k, label) in [("actor_id", "Actor id"), ("action", "Action"), ("zone_id", "Zone id")] {
                div { label for=(k) { (label) } input id=(k) type="text" name=(k) value=(keep.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| *v)); }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if items.is_empty() { (layout::empty("audit events", "Every change made through the API or this console is recorded here.")) } @else {
            (layout::table(&items, &[("Time", "created_at"), ("Actor", "actor_id"), ("Action", "action"), ("Object", "object_id"), ("Zone", "zone_id"), ("Outcome", "outcome"), ("Status", "status")], |_| None))
            (layout::pager("/console/audit", &keep, &list))
        }
    };
    org_page(&ctx, "Audit log", "audit", body)
}
