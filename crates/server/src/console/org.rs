//! The organization's people (roles, removal) and invitations (the link shown once when no mail
//! is sent), and what the other organization pages share (`service_accounts.rs`,
//! `org_settings.rs`): paths, paging and the page frame.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self};
use super::forms::{self, Submitted};
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show};
use super::session::Ctx;

const ROLES: &[&str] = &["org_admin", "org_member", "org_viewer"];
const INVITE: &[Field] = &[
    Field::new("email", "Email", Input::Text).required(),
    Field::new("role", "Role", Input::Choice(ROLES)).required(),
];

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/members", get(members))
        .route("/console/members/{user}", post(member_role))
        .route("/console/members/{user}/remove", post(member_remove))
        .route("/console/invitations", get(invitations).post(invite))
        .route("/console/invitations/{id}/delete", post(uninvite))
}

pub(super) fn org_path(ctx: &Ctx, rest: &str) -> String {
    format!("/organizations/{}/{rest}", seg(ctx.org()))
}

#[derive(serde::Deserialize, Default)]
pub(super) struct PageQuery {
    pub(super) after: Option<String>,
    pub(super) before: Option<String>,
    pub(super) notice: Option<String>,
}

pub(super) async fn org_list(
    ctx: &Ctx,
    rest: &str,
    q: &PageQuery,
) -> Result<(Vec<Value>, Value), ApiFailure> {
    let params = [
        ("limit", "25"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
    ];
    let list = ctx
        .api
        .get(&ctx.call(), &with_query(&org_path(ctx, rest), &params))
        .await?;
    Ok((layout::items(&list), list))
}

pub(super) fn org_page(ctx: &Ctx, title: &str, tab: &str, body: Markup) -> Response {
    layout::page(ctx, title, &Place { zone: None, tab }, body)
}

async fn members(ctx: Ctx, Query(q): Query<PageQuery>) -> Response {
    members_page(&ctx, &q, None).await
}

async fn members_page(ctx: &Ctx, q: &PageQuery, error: Option<&ApiFailure>) -> Response {
    let (items, list) = match org_list(ctx, "users", q).await {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if let Some(e) = error { (layout::alert(e)) }
        table {
            thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Joined" } th scope="col" { "Remove" } } }
            tbody { @for u in &items { @let id = show(u.get("id")); @let role = show(u.get("role")); tr {
                td { (show(u.get("email"))) }
                td { form.toolbar method="post" action=(format!("/console/members/{}", seg(&id))) {
                    (csrf_field(ctx))
                    label.sr for={"role-" (id)} { "Role of " (show(u.get("email"))) }
                    select id={"role-" (id)} name="role" { @for r in ROLES { option value=(r) selected[role == *r] { (r) } } }
                    button.small.secondary type="submit" { "Change" }
                } }
                td { (show(u.get("created_at"))) }
                td { form.inline method="post" action=(format!("/console/members/{}/remove", seg(&id))) data-confirm="Remove this person from the organization?" { (csrf_field(ctx)) button.small.danger type="submit" { "Remove" } } }
            } } }
        }
        (layout::pager("/console/members", &[], &list))
        p { a href="/console/invitations" { "Invite someone" } }
    };
    org_page(ctx, "People", "members", body)
}

async fn member_role(
    ctx: Ctx,
    Path(user): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let body = json!({"role": form.get("role").unwrap_or("")});
    match ctx
        .api
        .patch(
            &ctx.call(),
            &org_path(&ctx, &format!("users/{}", seg(&user))),
            &body,
        )
        .await
    {
        Ok(_) => layout::redirect_notice("/console/members", "Role changed."),
        Err(e) => members_page(&ctx, &PageQuery::default(), Some(&e)).await,
    }
}

async fn member_remove(
    ctx: Ctx,
    Path(user): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(
            &ctx.call(),
            &org_path(&ctx, &format!("users/{}", seg(&user))),
        )
        .await
    {
        Ok(_) => layout::redirect_notice("/console/members", "Removed."),
        Err(e) => members_page(&ctx, &PageQuery::default(), Some(&e)).await,
    }
}

async fn invitations(ctx: Ctx, Query(q): Query<PageQuery>) -> Response {
    invitations_page(&ctx, &q, None, None, &Value::Null).await
}

async fn invitations_page(
    ctx: &Ctx,
    q: &PageQuery,
    created: Option<&Value>,
    error: Option<&ApiFailure>,
    values: &Value,
) -> Response {
    let (items, list) = match org_list(ctx, "invitations", q).await {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if let Some(c) = created {
            div.notice role="status" { "Invitation for " (show(c.get("email"))) " created." }
            @if let Some(link) = c.get("link").and_then(Value::as_str) {
                p { "Send this link to them (it is shown only now; when mail is set up, it was emailed too):" }
                div.secret { code #invitation-link { (link) } button.small type="button" data-copy="invitation-link" hidden { "Copy" } }
            }
        }
        @if items.is_empty() { (layout::empty("invitations", "Invite a colleague below.")) } @else {
            table {
                thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Status" } th scope="col" { "Expires" } th scope="col" { "Delete" } } }
                tbody { @for i in &items { tr {
                    td { (show(i.get("email"))) } td { (show(i.get("role"))) } td { (show(i.get("status"))) } td { (show(i.get("expires_at"))) }
                    td { form.inline method="post" action=(format!("/console/invitations/{}/delete", seg(&show(i.get("id"))))) { (csrf_field(ctx)) button.small.secondary type="submit" { "Delete" } } }
                } } }
            }
            (layout::pager("/console/invitations", &[], &list))
        }
        h2 #create { "Invite someone" }
        @if let Some(e) = error { (layout::alert(e)) }
        form.card method="post" action="/console/invitations" {
            (csrf_field(ctx))
            (directory::inputs(INVITE, values, &Default::default()))
            button type="submit" #invite { "Send invitation" }
        }
    };
    org_page(ctx, "Invitations", "invitations", body)
}

/// The sign-up link of a just-created invitation (its one-time `token`), absolute: it is sent to
/// somebody, so a path alone is no use to them.
fn invitation_link(state: &ConsoleState, ctx: &Ctx, created: &Value) -> Option<String> {
    let token = created.get("token")?.as_str()?;
    let page = format!("{}/invitation", state.app.zone_issuer(&ctx.session.zone_id));
    Some(with_query(&page, &[("token", token)]))
}

async fn invite(
    State(state): State<ConsoleState>,
    ctx: Ctx,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let echo = directory::echo(INVITE, &form);
    let body = match forms::body(INVITE, &form, false) {
        Ok(b) => b,
        Err(e) => {
            return invitations_page(
                &ctx,
                &PageQuery::default(),
                None,
                Some(&directory::invalid(e)),
                &echo,
            )
            .await;
        }
    };
    match ctx
        .api
        .post(&ctx.call(), &org_path(&ctx, "invitations"), &body)
        .await
    {
        Ok(mut c) => {
            if let (Some(link), Some(o)) = (invitation_link(&state, &ctx, &c), c.as_object_mut()) {
                o.insert("link".into(), Value::String(link));
            }
            invitations_page(&ctx, &PageQuery::default(), Some(&c), None, &Value::Null).await
        }
        Err(e) => invitations_page(&ctx, &PageQuery::default(), None, Some(&e), &echo).await,
    }
}

async fn uninvite(ctx: Ctx, Path(id): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(
            &ctx.call(),
            &org_path(&ctx, &format!("invitations/{}", seg(&id))),
        )
        .await
    {
        Ok(_) => layout::redirect_notice("/console/invitations", "Invitation deleted."),
        Err(e) => invitations_page(&ctx, &PageQuery::default(), None, Some(&e), &Value::Null).await,
    }
}
