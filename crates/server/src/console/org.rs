//! The organization's pages: people (roles, removal), invitations (the link shown once when no
//! mail is sent), service accounts and their credentials (a secret shown once), the SSO
//! connection, and the audit log.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, properties};
use super::forms::{self, Submitted};
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show};
use super::session::Ctx;

const ROLES: &[&str] = &["org_admin", "org_member", "org_viewer"];
const INVITE: &[Field] = &[
    Field::new("email", "Email", Input::Text).required(),
    Field::new("role", "Role", Input::Choice(ROLES)).required(),
];
const SA: &[Field] = &[
    Field::new("name", "Name", Input::Text).required(),
    Field::new("description", "Description", Input::Text),
];
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
        .route("/console/members", get(members))
        .route("/console/members/{user}", post(member_role))
        .route("/console/members/{user}/remove", post(member_remove))
        .route("/console/invitations", get(invitations).post(invite))
        .route("/console/invitations/{id}/delete", post(uninvite))
        .route(
            "/console/service-accounts",
            get(service_accounts).post(create_sa),
        )
        .route(
            "/console/service-accounts/{id}",
            get(service_account).post(create_sa_credential),
        )
        .route("/console/service-accounts/{id}/delete", post(delete_sa))
        .route(
            "/console/service-accounts/{id}/credentials/{cred}/delete",
            post(delete_sa_credential),
        )
        .route("/console/sso", get(sso).post(save_sso))
        .route("/console/sso/disable", post(disable_sso))
        .route("/console/audit", get(audit))
}

fn org_path(ctx: &Ctx, rest: &str) -> String {
    format!("/organizations/{}/{rest}", seg(ctx.org()))
}

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    after: Option<String>,
    before: Option<String>,
    notice: Option<String>,
}

async fn org_list(ctx: &Ctx, rest: &str, q: &PageQuery) -> Result<(Vec<Value>, Value), ApiFailure> {
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

fn org_page(ctx: &Ctx, title: &str, tab: &str, body: Markup) -> Response {
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

async fn service_accounts(ctx: Ctx, Query(q): Query<PageQuery>) -> Response {
    sa_list(&ctx, &q, None, &Value::Null).await
}

async fn sa_list(ctx: &Ctx, q: &PageQuery, error: Option<&ApiFailure>, values: &Value) -> Response {
    let (items, list) = match org_list(ctx, "service-accounts", q).await {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if items.is_empty() { (layout::empty("service accounts", "A service account gives a script or pipeline its own credentials for this API.")) } @else {
            (layout::table(&items, &[("Name", "name"), ("Description", "description"), ("Created", "created_at")], |s| s.get("id").and_then(Value::as_str).map(|id| format!("/console/service-accounts/{}", seg(id)))))
            (layout::pager("/console/service-accounts", &[], &list))
        }
        h2 #create { "New service account" }
        @if let Some(e) = error { (layout::alert(e)) }
        form.card method="post" action="/console/service-accounts" {
            (csrf_field(ctx))
            (directory::inputs(SA, values, &Default::default()))
            button type="submit" #create-service-account { "Create service account" }
        }
    };
    org_page(ctx, "Service accounts", "service-accounts", body)
}

async fn create_sa(ctx: Ctx, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let echo = directory::echo(SA, &form);
    let body = match forms::body(SA, &form, false) {
        Ok(b) => b,
        Err(e) => {
            return sa_list(
                &ctx,
                &PageQuery::default(),
                Some(&directory::invalid(e)),
                &echo,
            )
            .await;
        }
    };
    match ctx
        .api
        .post(&ctx.call(), &org_path(&ctx, "service-accounts"), &body)
        .await
    {
        Ok(s) => layout::redirect_notice(
            &format!("/console/service-accounts/{}", seg(&show(s.get("id")))),
            "Service account created. Give it a credential.",
        ),
        Err(e) => sa_list(&ctx, &PageQuery::default(), Some(&e), &echo).await,
    }
}

async fn service_account(ctx: Ctx, Path(id): Path<String>, Query(q): Query<PageQuery>) -> Response {
    sa_page(&ctx, &id, q.notice.as_deref(), None, None).await
}

async fn sa_page(
    ctx: &Ctx,
    id: &str,
    notice: Option<&str>,
    created: Option<&Value>,
    error: Option<&ApiFailure>,
) -> Response {
    let base = org_path(ctx, &format!("service-accounts/{}", seg(id)));
    let sa = match ctx.api.get(&ctx.call(), &base).await {
        Ok(s) => s,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let creds = ctx
        .api
        .get(&ctx.call(), &format!("{base}/credentials?limit=100"))
        .await
        .unwrap_or(Value::Null);
    let creds = layout::items(&creds);
    let here = format!("/console/service-accounts/{}", seg(id));
    let body = html! {
        (layout::notice(notice))
        @if let Some(e) = error { (layout::alert(e)) }
        @if let Some(c) = created {
            div.notice role="status" { "Credential created." }
            p { strong { "Copy the secret now: it is shown only this once." } }
            dl.props { dt { "client_id" } dd { code #client-id { (show(c.get("client_id"))) } } dt { "client_secret" } dd { div.secret { code #client-secret { (show(c.get("client_secret"))) } button.small type="button" data-copy="client-secret" hidden { "Copy" } } } }
        }
        p { a href="/console/service-accounts" { "← All service accounts" } }
        (properties(&sa))
        h2 { "Credentials" }
        @if creds.is_empty() { (layout::empty("credentials", "Create one to get a client id and secret for POST /service-account-token.")) } @else {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Client id" } th scope="col" { "Last used" } th scope="col" { "Delete" } } }
                tbody { @for c in &creds { tr {
                    td { (show(c.get("name"))) } td { code { (show(c.get("client_id"))) } } td { (show(c.get("last_used_at"))) }
                    td { form.inline method="post" action=(format!("{here}/credentials/{}/delete", seg(&show(c.get("id"))))) { (csrf_field(ctx)) button.small.secondary type="submit" { "Delete" } } }
                } } }
            }
        }
        form.card method="post" action=(here) {
            (csrf_field(ctx))
            label for="credential-name" { "New credential name (required)" }
            input #credential-name type="text" name="name" required;
            button type="submit" #create-sa-credential { "Create credential" }
        }
        h2 { "Delete" }
        (layout::delete_button(ctx, &format!("{here}/delete"), "service account"))
    };
    org_page(
        ctx,
        &format!("Service account {}", show(sa.get("name"))),
        "service-accounts",
        body,
    )
}

async fn create_sa_credential(
    ctx: Ctx,
    Path(id): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let body = json!({"name": form.get("name").unwrap_or("")});
    match ctx
        .api
        .post(
            &ctx.call(),
            &org_path(&ctx, &format!("service-accounts/{}/credentials", seg(&id))),
            &body,
        )
        .await
    {
        Ok(c) => sa_page(&ctx, &id, None, Some(&c), None).await,
        Err(e) => sa_page(&ctx, &id, None, None, Some(&e)).await,
    }
}

async fn delete_sa(
    ctx: Ctx,
    Path(id): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(
            &ctx.call(),
            &org_path(&ctx, &format!("service-accounts/{}", seg(&id))),
        )
        .await
    {
        Ok(_) => layout::redirect_notice("/console/service-accounts", "Service account deleted."),
        Err(e) => sa_page(&ctx, &id, None, None, Some(&e)).await,
    }
}

async fn delete_sa_credential(
    ctx: Ctx,
    Path((id, cred)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(
            &ctx.call(),
            &org_path(
                &ctx,
                &format!("service-accounts/{}/credentials/{}", seg(&id), seg(&cred)),
            ),
        )
        .await
    {
        Ok(_) => layout::redirect_notice(
            &format!("/console/service-accounts/{}", seg(&id)),
            "Credential deleted; its tokens stop working now.",
        ),
        Err(e) => sa_page(&ctx, &id, None, None, Some(&e)).await,
    }
}

async fn sso(ctx: Ctx, Query(q): Query<PageQuery>) -> Response {
    sso_page(&ctx, q.notice.as_deref(), None).await
}

async fn sso_page(ctx: &Ctx, notice: Option<&str>, error: Option<&ApiFailure>) -> Response {
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
                form.card method="post" action="/console/sso" { (csrf_field(ctx)) input type="hidden" name="mode" value="update"; (directory::inputs(SSO, c, &Default::default())) button type="submit" #save-sso { "Save" } }
                h2 { "Disable" }
                form method="post" action="/console/sso/disable" data-confirm="Disable SSO? People then sign in with email and password." { (csrf_field(ctx)) button.danger type="submit" { "Disable SSO" } }
            },
            None => {
                (layout::empty("SSO connection", "Connect your identity provider (OpenID Connect) so people sign in with their company account. New people still need an invitation."))
                form.card method="post" action="/console/sso" { (csrf_field(ctx)) input type="hidden" name="mode" value="enable"; (directory::inputs(SSO, &Value::Null, &Default::default())) button type="submit" #enable-sso { "Enable SSO" } }
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
    let body = match forms::body(SSO, &form, update) {
        Ok(b) => b,
        Err(e) => return sso_page(&ctx, None, Some(&directory::invalid(e))).await,
    };
    let path = org_path(&ctx, "sso-connection");
    let result = if update {
        ctx.api.patch(&ctx.call(), &path, &body).await
    } else {
        ctx.api.post(&ctx.call(), &path, &body).await
    };
    match result {
        Ok(_) => layout::redirect_notice("/console/sso", "SSO connection saved."),
        Err(e) => sso_page(&ctx, None, Some(&e)).await,
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
        Err(e) => sso_page(&ctx, None, Some(&e)).await,
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
