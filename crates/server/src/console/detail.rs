//! An object's page in the generic zone pages: its properties, the extras of its kind
//! (`extras.rs`), the edit form and delete, and the writes behind them.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::Value;

use super::ConsoleState;
use super::api::{ApiFailure, seg};
use super::directory::{
    api_path, inputs, invalid, load_refs, not_found, properties, redact, with_emails, zone_name,
};
use super::forms::{self, Submitted};
use super::kinds::{self, Kind};
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::session::Ctx;

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/console/zones/{zone}/{kind}/{id}",
            get(detail).post(update),
        )
        .route("/console/zones/{zone}/{kind}/{id}/delete", post(delete))
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    notice: Option<String>,
}

async fn detail(
    ctx: Ctx,
    Path((zone, kind, id)): Path<(String, String, String)>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Some(k) = kinds::kind(&kind) else {
        return layout::api_failure(&ctx, &not_found(&kind));
    };
    detail_page(&ctx, &zone, k, &id, q.notice.as_deref(), None).await
}

/// An object's page: its properties, the edit form, extras of its kind, and delete.
pub async fn detail_page(
    ctx: &Ctx,
    zone: &str,
    k: &Kind,
    id: &str,
    notice: Option<&str>,
    error: Option<&ApiFailure>,
) -> Response {
    let (zone_id, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let path = format!("{}/{}", api_path(zone, k.path), seg(id));
    let mut item = match ctx.api.get(&ctx.call(), &path).await {
        Ok(i) => i,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    with_emails(ctx, k, std::slice::from_mut(&mut item)).await;
    redact(k, &mut item);
    let refs = load_refs(ctx, zone, k.edit).await;
    let here = format!("{}/{}", zone_href(zone, k.path), seg(id));
    let extra = super::extras::extras(ctx, zone, k, &item).await;
    let title = show(
        item.get("name")
            .or(item.get("email"))
            .or(item.get("identifier"))
            .or(item.get("id")),
    );
    let body = html! {
        (layout::notice(notice))
        @if let Some(e) = error { (layout::alert(e)) }
        p { a href=(zone_href(zone, k.path)) { "← All " (k.title.to_lowercase()) } }
        (properties(&item))
        (extra)
        @if !k.edit.is_empty() && item.get("owner_type").and_then(Value::as_str) != Some("platform") {
            h2 { "Edit" }
            form.card method="post" action=(here) {
                (csrf_field(ctx))
                (inputs(k.edit, &item, &refs))
                button type="submit" #save { "Save" }
            }
        }
        @if k.delete && item.get("owner_type").and_then(Value::as_str) != Some("platform") {
            h2 { "Delete" }
            (layout::delete_button(ctx, &format!("{here}/delete"), k.singular))
        }
    };
    let place = Place {
        zone: Some((&zone_id, &zname)),
        tab: k.path,
    };
    layout::page(
        ctx,
        &format!("{} {title}", capitalized(k.singular)),
        &place,
        body,
    )
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

async fn update(
    ctx: Ctx,
    Path((zone, kind, id)): Path<(String, String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let Some(k) = kinds::kind(&kind).filter(|k| !k.edit.is_empty()) else {
        return layout::api_failure(&ctx, &not_found(&kind));
    };
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let body = match forms::body(k.edit, &form, true) {
        Ok(b) => b,
        Err(e) => return detail_page(&ctx, &zone, k, &id, None, Some(&invalid(e))).await,
    };
    let path = format!("{}/{}", api_path(&zone, k.path), seg(&id));
    match ctx.api.patch(&ctx.call(), &path, &body).await {
        Ok(_) => layout::redirect_notice(
            &format!("{}/{}", zone_href(&zone, k.path), seg(&id)),
            "Saved.",
        ),
        Err(e) => detail_page(&ctx, &zone, k, &id, None, Some(&e)).await,
    }
}

async fn delete(
    ctx: Ctx,
    Path((zone, kind, id)): Path<(String, String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let Some(k) = kinds::kind(&kind).filter(|k| k.delete) else {
        return layout::api_failure(&ctx, &not_found(&kind));
    };
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    let path = format!("{}/{}", api_path(&zone, k.path), seg(&id));
    match ctx.api.delete(&ctx.call(), &path).await {
        Ok(_) => layout::redirect_notice(
            &zone_href(&zone, k.path),
            &format!("Deleted {} {id}.", k.singular),
        ),
        Err(e) => detail_page(&ctx, &zone, k, &id, None, Some(&e)).await,
    }
}
