//! Zones: the list with its create form, a zone's settings (PKCE, DCR, CIMD, login flow, sign-in
//! provider, signing algorithm) and delete, and its signing keys with rotation.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::Value;

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, ListQuery, load_refs, zone_name};
use super::forms::{self, Submitted};
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::session::Ctx;

const CREATE: &[Field] = &[
    Field::new("name", "Name", Input::Text).required(),
    Field::new("description", "Description", Input::Long),
    Field::new(
        "protocols.oauth2.pkce_required",
        "Require PKCE for every authorization request",
        Input::Check,
    ),
    Field::new(
        "protocols.oauth2.dcr_enabled",
        "Allow dynamic client registration",
        Input::Check,
    ),
    Field::new(
        "login_flow",
        "Sign-in flow",
        Input::Choice(&["default", "identifier_first"]),
    ),
    Field::new(
        "signing_alg",
        "Token signing algorithm",
        Input::Choice(&["ES256", "RS256", "EdDSA"]),
    ),
];

const SETTINGS: &[Field] = &[
    Field::new("name", "Name", Input::Text).required(),
    Field::new("description", "Description", Input::Long),
    Field::new(
        "requires_invitation",
        "Sign-up needs an invitation",
        Input::Check,
    ),
    Field::new(
        "protocols.oauth2.pkce_required",
        "Require PKCE for every authorization request",
        Input::Check,
    ),
    Field::new(
        "protocols.oauth2.dcr_enabled",
        "Allow dynamic client registration",
        Input::Check,
    ),
    Field::new(
        "protocols.oauth2.cimd.enabled",
        "Accept client-id metadata documents (CIMD)",
        Input::Check,
    ),
    Field::new(
        "protocols.oauth2.cimd.allowed_client_ids",
        "Allowed CIMD client ids",
        Input::Lines,
    )
    .hint("One URL or prefix per line."),
    Field::new(
        "login_flow",
        "Sign-in flow",
        Input::Choice(&["default", "identifier_first"]),
    ),
    Field::new(
        "user_identity_provider_id",
        "Sign in through provider",
        Input::Ref("providers"),
    )
    .hint("Empty: email and password."),
    Field::new(
        "default_resource_id",
        "Default resource",
        Input::Ref("resources"),
    ),
    Field::new(
        "signing_alg",
        "Token signing algorithm",
        Input::Choice(&["ES256", "RS256", "EdDSA"]),
    ),
];

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/zones", get(list).post(create))
        .route(
            "/console/zones/{zone}/settings",
            get(settings).post(save_settings),
        )
        .route("/console/zones/{zone}/delete", post(delete))
        .route("/console/zones/{zone}/keys", get(keys))
        .route("/console/zones/{zone}/keys/rotate", post(rotate))
}

async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> Response {
    list_page(&ctx, &q, None, &Value::Null).await
}

async fn list_page(
    ctx: &Ctx,
    q: &ListQuery,
    error: Option<&ApiFailure>,
    values: &Value,
) -> Response {
    let params = [
        ("limit", "25"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
    ];
    let list = match ctx
        .api
        .get(&ctx.call(), &with_query("/zones", &params))
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let items: Vec<Value> = layout::items(&list);
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if items.is_empty() {
            (layout::empty("zones", "A zone is an authorization server with its own applications, resources and policies. Create one below."))
        } @else {
            (layout::table(&items, &[("Name", "name"), ("Issuer", "protocols.oauth2.issuer"), ("Owner", "owner_type"), ("Created", "created_at")], |z| z.get("id").and_then(Value::as_str).map(|id| zone_href(id, ""))))
            (layout::pager("/console/zones", &[], &list))
        }
        h2 #create { "Create a zone" }
        @if let Some(e) = error { (layout::alert(e)) }
        form.card method="post" action="/console/zones" {
            (csrf_field(ctx))
            (directory::inputs(CREATE, values, &Default::default()))
            button type="submit" #create-zone { "Create zone" }
        }
    };
    layout::page(
        ctx,
        "Zones",
        &Place {
            zone: None,
            tab: "zones",
        },
        body,
    )
}

async fn create(ctx: Ctx, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let echo = directory::echo(CREATE, &form);
    let mut body = match forms::body(CREATE, &form, false) {
        Ok(b) => b,
        Err(e) => {
            return list_page(
                &ctx,
                &ListQuery::default(),
                Some(&directory::invalid(e)),
                &echo,
            )
            .await;
        }
    };
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "organization_id".into(),
            Value::String(ctx.org().to_owned()),
        );
    }
    match ctx.api.post(&ctx.call(), "/zones", &body).await {
        Ok(z) => layout::redirect_notice(&zone_href(&show(z.get("id")), ""), "Zone created."),
        Err(e) => list_page(&ctx, &ListQuery::default(), Some(&e), &echo).await,
    }
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn settings(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<NoticeQuery>) -> Response {
    settings_page(&ctx, &zone, q.notice.as_deref(), None).await
}

async fn settings_page(
    ctx: &Ctx,
    zone: &str,
    notice: Option<&str>,
    error: Option<&ApiFailure>,
) -> Response {
    let z = match ctx
        .api
        .get(&ctx.call(), &format!("/zones/{}", seg(zone)))
        .await
    {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let refs = load_refs(ctx, zone, SETTINGS).await;
    let name = show(z.get("name"));
    let platform = z.get("owner_type").and_then(Value::as_str) == Some("platform");
    let here = zone_href(zone, "settings");
    let body = html! {
        (layout::notice(notice))
        @if let Some(e) = error { (layout::alert(e)) }
        h2 { "Endpoints" }
        dl.props {
            @for (label, path) in [("Issuer", "protocols.oauth2.issuer"), ("Authorization endpoint", "protocols.oauth2.authorization_endpoint"), ("Token endpoint", "protocols.oauth2.token_endpoint"), ("JWKS", "protocols.oauth2.jwks_uri"), ("Metadata", "protocols.oauth2.authorization_server_metadata")] {
                dt { (label) } dd { code { (show(layout::field(&z, path))) } }
            }
        }
        @if platform {
            p.hint { "This is the organization's platform zone: people sign in to Latchkey here. Its settings are managed by Latchkey." }
        } @else {
            h2 { "Settings" }
            form.card method="post" action=(here) {
                (csrf_field(ctx))
                (directory::inputs(SETTINGS, &z, &refs))
                button type="submit" #save-settings { "Save settings" }
            }
            h2 { "Delete zone" }
            p.hint { "Deletes the zone with everything in it: applications, credentials, users, sessions, policies." }
            (layout::delete_button(ctx, &zone_href(zone, "delete"), "zone"))
        }
    };
    layout::page(
        ctx,
        &format!("{name}: settings"),
        &Place {
            zone: Some((zone, &name)),
            tab: "settings",
        },
        body,
    )
}

async fn save_settings(
    ctx: Ctx,
    Path(zone): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let body = match forms::body(SETTINGS, &form, true) {
        Ok(b) => b,
        Err(e) => return settings_page(&ctx, &zone, None, Some(&directory::invalid(e))).await,
    };
    match ctx
        .api
        .patch(&ctx.call(), &format!("/zones/{}", seg(&zone)), &body)
        .await
    {
        Ok(_) => layout::redirect_notice(&zone_href(&zone, "settings"), "Settings saved."),
        Err(e) => settings_page(&ctx, &zone, None, Some(&e)).await,
    }
}

async fn delete(ctx: Ctx, Path(zone): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(&ctx.call(), &format!("/zones/{}", seg(&zone)))
        .await
    {
        Ok(_) => layout::redirect_notice("/console/zones", "Zone deleted."),
        Err(e) => settings_page(&ctx, &zone, None, Some(&e)).await,
    }
}

async fn keys(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<NoticeQuery>) -> Response {
    let (zid, name) = match zone_name(&ctx, &zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let keys = match ctx
        .api
        .get(&ctx.call(), &format!("/zones/{}/signing-keys", seg(&zone)))
        .await
    {
        Ok(k) => k,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let items = keys
        .get("items")
        .or(keys.get("keys"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        p.hint { "Tokens are signed with the active key; retired keys stay in the JWKS until the tokens they signed expire." }
        (layout::table(&items, &[("Key id", "kid"), ("Algorithm", "alg"), ("Status", "status"), ("Created", "created_at")], |_| None))
        form method="post" action=(zone_href(&zone, "keys/rotate")) data-confirm="Rotate the signing key now?" {
            (csrf_field(&ctx))
            button type="submit" #rotate-keys { "Rotate now" }
        }
    };
    layout::page(
        &ctx,
        &format!("{name}: signing keys"),
        &Place {
            zone: Some((&zid, &name)),
            tab: "keys",
        },
        body,
    )
}

async fn rotate(ctx: Ctx, Path(zone): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .send(
            &ctx.call(),
            axum::http::Method::POST,
            &format!("/zones/{}/signing-keys/rotate", seg(&zone)),
            None,
        )
        .await
    {
        Ok(_) => layout::redirect_notice(&zone_href(&zone, "keys"), "Signing key rotated."),
        Err(e) => layout::api_failure(&ctx, &e),
    }
}
