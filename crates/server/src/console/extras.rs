//! What some objects' pages show beyond their properties, and the actions behind it: an
//! application's dependencies (add, remove) and credentials (with the create form), a provider's
//! "test discovery" check. Actions answer with a redirect and a notice.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg};
use super::credentials;
use super::directory::{self, api_path};
use super::forms::Submitted;
use super::kinds::{self, Kind};
use super::layout::{self, csrf_field, show, zone_href};
use super::session::Ctx;

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/console/zones/{zone}/applications/{app}/dependencies",
            post(add_dependency),
        )
        .route(
            "/console/zones/{zone}/applications/{app}/dependencies/{resource}/delete",
            post(remove_dependency),
        )
        .route(
            "/console/zones/{zone}/providers/{id}/test",
            post(test_discovery),
        )
}

/// What an object's page shows beyond its properties: an application's dependencies and
/// credentials, a provider's discovery test, a session's or grant's revoke button.
pub async fn extras(ctx: &Ctx, zone: &str, k: &Kind, item: &Value) -> Markup {
    let id = show(item.get("id"));
    match k.path {
        "applications" => application_extras(ctx, zone, &id).await,
        "providers" => html! {
            h2 { "Discovery" }
            form method="post" action=(format!("{}/{}/test", zone_href(zone, "providers"), seg(&id))) {
                (csrf_field(ctx))
                button.secondary type="submit" #test-discovery { "Test discovery" }
            }
        },
        _ => super::revoke::button(ctx, zone, k.path, item),
    }
}

async fn application_extras(ctx: &Ctx, zone: &str, app: &str) -> Markup {
    let base = format!("{}/{}", api_path(zone, "applications"), seg(app));
    let deps = ctx
        .api
        .get_all(&ctx.call(), &format!("{base}/dependencies"))
        .await;
    let deps = layout::items(&deps);
    let creds = ctx
        .api
        .get_all(&ctx.call(), &format!("{base}/application-credentials"))
        .await;
    let creds = layout::items(&creds);
    let resources = directory::load_refs(
        ctx,
        zone,
        &[kinds::Field::new("r", "", kinds::Input::Ref("resources"))],
    )
    .await;
    let here = format!("{}/{}", zone_href(zone, "applications"), seg(app));
    html! {
        h2 { "Dependencies" }
        p.hint { "The resources this application may get tokens for (token exchange and user sign-in)." }
        @if deps.is_empty() { (layout::empty("dependencies", "Add a resource below.")) } @else {
            table { thead { tr { th scope="col" { "Resource" } th scope="col" { "Identifier" } th scope="col" { span.skip-text { "Remove" } } } }
                tbody { @for d in &deps { @let rid = show(d.get("id")); tr {
                    td { a href=(format!("{}/{}", zone_href(zone, "resources"), seg(&rid))) { (show(d.get("name"))) } }
                    td { (show(d.get("identifier"))) }
                    td { form.inline method="post" action=(format!("{here}/dependencies/{}/delete", seg(&rid))) { (csrf_field(ctx)) button.small.secondary type="submit" { "Remove" } } }
                } } }
            }
        }
        form.toolbar method="post" action=(format!("{here}/dependencies")) {
            (csrf_field(ctx))
            div { label for="dependency" { "Add a dependency" }
                select #dependency name="resource_id" required {
                    @for (rid, name) in resources.get("resources").map(Vec::as_slice).unwrap_or_default() { option value=(rid) { (name) } }
                } }
            button.secondary type="submit" #add-dependency { "Add" }
        }
        h2 { "Credentials" }
        @if creds.is_empty() { (layout::empty("credentials", "Create one below to let this application authenticate.")) } @else {
            (layout::table(&creds, credentials::kind().columns, |it| it.get("id").and_then(Value::as_str).map(|id| format!("{}/{}", zone_href(zone, "application-credentials"), seg(id)))))
        }
        (credentials::create_form(ctx, zone, &Value::Null, Some(app)).await)
    }
}

async fn add_dependency(
    ctx: Ctx,
    Path((zone, app)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let here = format!("{}/{}", zone_href(&zone, "applications"), seg(&app));
    let Some(rid) = form.get("resource_id") else {
        return layout::redirect_notice(&here, "Choose a resource to add.");
    };
    let path = format!(
        "{}/{}/dependencies/{}",
        api_path(&zone, "applications"),
        seg(&app),
        seg(rid)
    );
    match ctx.api.put(&ctx.call(), &path, &json!({})).await {
        Ok(_) => layout::redirect_notice(&here, "Dependency added."),
        Err(e) => refused(&zone, &app, &e),
    }
}

async fn remove_dependency(
    ctx: Ctx,
    Path((zone, app, rid)): Path<(String, String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    let path = format!(
        "{}/{}/dependencies/{}",
        api_path(&zone, "applications"),
        seg(&app),
        seg(&rid)
    );
    match ctx.api.delete(&ctx.call(), &path).await {
        Ok(_) => layout::redirect_notice(
            &format!("{}/{}", zone_href(&zone, "applications"), seg(&app)),
            "Dependency removed.",
        ),
        Err(e) => refused(&zone, &app, &e),
    }
}

/// A refused dependency change: back to the application's page with the API's message.
fn refused(zone: &str, app: &str, e: &ApiFailure) -> Response {
    layout::redirect_notice(
        &format!("{}/{}", zone_href(zone, "applications"), seg(app)),
        &format!("{} ({})", e.message, e.code),
    )
}

/// `POST …/providers/{id}/test`: fetches the provider's discovery document (through the
/// server's outbound fetcher and its address policy) and reports what it found.
async fn test_discovery(
    State(state): State<ConsoleState>,
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    let provider = match ctx
        .api
        .get(
            &ctx.call(),
            &format!("{}/{}", api_path(&zone, "providers"), seg(&id)),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let issuer = layout::field(&provider, "protocols.oauth2.issuer")
        .and_then(Value::as_str)
        .or(provider.get("identifier").and_then(Value::as_str))
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let url = format!("{issuer}{}", latchkey_oauth::paths::OIDC_CONFIGURATION);
    let notice = match state.app.fetcher.json(&url).await {
        Ok(doc) => {
            let found = [
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "jwks_uri",
                "userinfo_endpoint",
            ]
            .iter()
            .filter(|m| doc.get(**m).is_some())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
            let same = doc.get("issuer").and_then(Value::as_str) == Some(issuer.as_str());
            format!(
                "Discovery works: {url} answered with {found}.{}",
                if same {
                    ""
                } else {
                    " Warning: its issuer differs from the provider's."
                }
            )
        }
        Err(e) => format!("Discovery failed for {url}: {e}"),
    };
    layout::redirect_notice(
        &format!("{}/{}", zone_href(&zone, "providers"), seg(&id)),
        &notice,
    )
}
