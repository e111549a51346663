//! Application credentials (a new secret is shown exactly once, in the answer to its create
//! request, with a copy button), an application's dependencies and credentials on its page, and
//! a provider's "test discovery" check.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, ListQuery, api_path, zone_name};
use super::forms::Submitted;
use super::kinds::{self, Kind};
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::session::Ctx;

const TYPES: &[&str] = &["password", "public", "public-key", "url", "token"];

pub fn router() -> Router<ConsoleState> {
    Router::new().route(
        "/console/zones/{zone}/application-credentials",
        get(list).post(create),
    )
}

async fn list(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<ListQuery>) -> Response {
    page(&ctx, &zone, &q, None, &Value::Null).await
}

pub fn kind() -> &'static Kind {
    // (the table lists it; the generic page has no create form for it)
    kinds::kind("application-credentials").unwrap_or(&kinds::KINDS[0])
}

async fn page(
    ctx: &Ctx,
    zone: &str,
    q: &ListQuery,
    error: Option<&ApiFailure>,
    values: &Value,
) -> Response {
    let (zone_id, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let k = kind();
    let params = [
        ("limit", "25"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
    ];
    let list = match ctx
        .api
        .get(&ctx.call(), &with_query(&api_path(zone, k.path), &params))
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let items = layout::items(&list);
    let base = zone_href(zone, k.path);
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if items.is_empty() { (layout::empty("credentials", k.empty_hint)) } @else {
            (layout::table(&items, k.columns, |it| it.get("id").and_then(Value::as_str).map(|id| format!("{base}/{}", seg(id)))))
            (layout::pager(&base, &[], &list))
        }
        h2 #create { "Add credential" }
        @if let Some(e) = error { (layout::alert(e)) }
        (create_form(ctx, zone, values, None).await)
    };
    let place = Place {
        zone: Some((&zone_id, &zname)),
        tab: k.path,
    };
    layout::page(ctx, "Credentials", &place, body)
}

/// The create form (for one application when `app` is given).
pub async fn create_form(ctx: &Ctx, zone: &str, values: &Value, app: Option<&str>) -> Markup {
    let refs = directory::load_refs(
        ctx,
        zone,
        &[
            kinds::Field::new("application_id", "", kinds::Input::Ref("applications")),
            kinds::Field::new("provider_id", "", kinds::Input::Ref("providers")),
        ],
    )
    .await;
    let v = |k: &str| {
        values
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    html! {
        form.card method="post" action=(zone_href(zone, "application-credentials")) {
            (csrf_field(ctx))
            @if let Some(a) = app { input type="hidden" name="application_id" value=(a); } @else {
                label for="application_id" { "Application (required)" }
                select #application_id name="application_id" required {
                    @for (id, name) in refs.get("applications").map(Vec::as_slice).unwrap_or_default() { option value=(id) selected[v("application_id") == *id] { (name) } }
                }
            }
            label for="type" { "Type (required)" }
            select #type name="type" required {
                @for t in TYPES { option value=(t) selected[v("type") == *t] { (t) } }
            }
            p.hint { "password: a client secret generated now and shown once · public: no secret (PKCE) · public-key: private_key_jwt with your JWKS URI · url: a client-id metadata document URL · token: tokens from a provider." }
            // (not `identifier`: on an application's page that is the application's own field)
            label for="credential-identifier" { "Client id" }
            input #credential-identifier type="text" name="identifier" value=(v("identifier"));
            p.hint { "Generated when empty (required for type url: the document URL)." }
            label for="jwks_uri" { "JWKS URI (public-key)" }
            input #jwks_uri type="url" name="jwks_uri" value=(v("jwks_uri"));
            label for="provider_id" { "Provider (token)" }
            select #provider_id name="provider_id" {
                option value="" { "—" }
                @for (id, name) in refs.get("providers").map(Vec::as_slice).unwrap_or_default() { option value=(id) selected[v("provider_id") == *id] { (name) } }
            }
            label for="subject" { "Subject (token)" }
            input #subject type="text" name="subject" value=(v("subject"));
            button type="submit" #create-credential { "Create credential" }
        }
    }
}

async fn create(ctx: Ctx, Path(zone): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let mut body = serde_json::Map::new();
    for name in [
        "application_id",
        "type",
        "identifier",
        "jwks_uri",
        "provider_id",
        "subject",
    ] {
        if let Some(v) = form.get(name) {
            body.insert(name.to_owned(), Value::String(v.to_owned()));
        }
    }
    let body = Value::Object(body);
    match ctx
        .api
        .post(
            &ctx.call(),
            &api_path(&zone, "application-credentials"),
            &body,
        )
        .await
    {
        Ok(created) => created_page(&ctx, &zone, &created).await,
        Err(e) => page(&ctx, &zone, &ListQuery::default(), Some(&e), &body).await,
    }
}

/// The answer to a create: the credential, and its secret exactly this once.
async fn created_page(ctx: &Ctx, zone: &str, created: &Value) -> Response {
    let (zone_id, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let secret = created.get("password").and_then(Value::as_str);
    let mut shown = created.clone();
    if let Some(o) = shown.as_object_mut() {
        o.remove("password");
    }
    let id = show(created.get("id"));
    let body = html! {
        div.notice role="status" { "Created credential " (id) "." }
        @if let Some(s) = secret {
            h2 { "Client secret" }
            p { strong { "Copy it now: it is shown only this once." } " Latchkey keeps only a keyed hash of it." }
            div.secret { code #secret { (s) } button.small type="button" data-copy="secret" hidden { "Copy" } }
        }
        (directory::properties(&shown))
        p { a href=(format!("{}/{}", zone_href(zone, "application-credentials"), seg(&id))) { "Go to the credential" } " · " a href=(zone_href(zone, "application-credentials")) { "All credentials" } }
    };
    let place = Place {
        zone: Some((&zone_id, &zname)),
        tab: "application-credentials",
    };
    layout::page(ctx, "Credential created", &place, body)
}
