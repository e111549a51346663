//! Revoking a session or a delegated grant from its page: the API's `PATCH {"status":
//! "revoked"}`, which ends it at once (its tokens stop working) but keeps the record, unlike
//! delete.

use axum::Form;
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::seg;
use super::directory::api_path;
use super::forms::Submitted;
use super::layout::{self, csrf_field, zone_href};
use super::session::Ctx;

/// The kinds that can be revoked, by their path.
const REVOCABLE: [&str; 2] = ["sessions", "delegated-grants"];

pub fn router() -> Router<ConsoleState> {
    REVOCABLE.iter().fold(Router::new(), |r, kind| {
        r.route(
            &format!("/console/zones/{{zone}}/{kind}/{{id}}/revoke"),
            post(
                move |ctx: Ctx, path: Path<(String, String)>, form: Form<Vec<(String, String)>>| {
                    revoke(ctx, kind, path, form)
                },
            ),
        )
    })
}

/// The revoke button on an active session's or grant's page (nothing for other kinds).
pub fn button(ctx: &Ctx, zone: &str, kind: &str, item: &Value) -> Markup {
    let active = item.get("status").and_then(Value::as_str) == Some("active");
    if !REVOCABLE.contains(&kind) || !active {
        return html! {};
    }
    let id = layout::show(item.get("id"));
    let action = format!("{}/{}/revoke", zone_href(zone, kind), seg(&id));
    html! {
        h2 { "Revoke" }
        p.hint { "Ends it now: its tokens stop working. The record stays, marked revoked." }
        form.inline method="post" action=(action) data-confirm="Revoke it? This cannot be undone." {
            (csrf_field(ctx))
            button.danger type="submit" #revoke { "Revoke" }
        }
    }
}

async fn revoke(
    ctx: Ctx,
    kind: &'static str,
    Path((zone, id)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    let path = format!("{}/{}", api_path(&zone, kind), seg(&id));
    let here = format!("{}/{}", zone_href(&zone, kind), seg(&id));
    match ctx
        .api
        .patch(&ctx.call(), &path, &json!({"status": "revoked"}))
        .await
    {
        Ok(_) => layout::redirect_notice(&here, "Revoked."),
        Err(e) => layout::redirect_notice(&here, &format!("{} ({})", e.message, e.code)),
    }
}
