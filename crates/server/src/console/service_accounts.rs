//! Service accounts and their credentials (a new secret shown once).

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg};
use super::directory::{self, properties};
use super::forms::{self, Submitted};
use super::kinds::{Field, Input};
use super::layout::{self, csrf_field, show};
use super::session::Ctx;

use super::org::{PageQuery, org_list, org_page, org_path};

const SA: &[Field] = &[
    Field::new("name", "Name", Input::Text).required(),
    Field::new("description", "Description", Input::Text),
];

pub fn router() -> Router<ConsoleState> {
    Router::new()
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
        .get_all(&ctx.call(), &format!("{base}/credentials"))
        .await;
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
