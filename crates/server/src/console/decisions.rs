//! The decision log (with names for the principals, resources and policies it shows) and "try a
//! request" (the dry-run evaluate endpoint of a policy set version).

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, api_path, zone_name};
use super::forms::Submitted;
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::session::Ctx;

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/zones/{zone}/decisions", get(decisions))
        .route("/console/zones/{zone}/try", get(try_form).post(try_request))
}

#[derive(serde::Deserialize, Default)]
struct DecisionQuery {
    decision: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

async fn decisions(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<DecisionQuery>) -> Response {
    let (zid, zname) = match zone_name(&ctx, &zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let decision = q.decision.clone().unwrap_or_default();
    let params = [
        ("limit", "50"),
        ("filter[decision]", decision.as_str()),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
    ];
    let list = match ctx
        .api
        .get(
            &ctx.call(),
            &with_query(&api_path(&zone, "policy-decisions"), &params),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let items = layout::items(&list);
    let names = names(&ctx, &zone).await;
    let base = zone_href(&zone, "decisions");
    let body = html! {
        form.toolbar method="get" action=(base) {
            div { label for="decision" { "Decision" }
                select #decision name="decision" { option value="" { "all" } @for d in ["allow", "deny"] { option value=(d) selected[decision == d] { (d) } } } }
            button.secondary type="submit" { "Filter" }
        }
        @if items.is_empty() { (layout::empty("decisions", "Every token request this zone decides is logged here.")) } @else {
            table #decisions {
                thead { tr { th scope="col" { "Last" } th scope="col" { "Decision" } th scope="col" { "Principal" } th scope="col" { "Action" } th scope="col" { "Resource" } th scope="col" { "Count" } th scope="col" { "Policies" } } }
                tbody { @for d in &items { @let dec = show(d.get("decision")); tr {
                    td { (show(d.get("last_at"))) } td { span class={"badge " (dec)} { (dec) } } td { (named(&zone, &names, "applications", d.get("principal_id"))) } td { (show(d.get("action"))) }
                    td { (named(&zone, &names, "resources", d.get("resource_id"))) } td { (show(d.get("evaluations"))) } td { (policies_named(&zone, d.get("determining_policies"))) }
                } } }
            }
            (layout::pager(&base, &[("decision", decision.as_str())], &list))
        }
    };
    layout::page(
        &ctx,
        "Decision log",
        &Place {
            zone: Some((&zid, &zname)),
            tab: "decisions",
        },
        body,
    )
}

/// The names of the zone's applications and resources by id (the decision log and the overview
/// show names, not ids).
pub async fn names(ctx: &Ctx, zone: &str) -> HashMap<String, String> {
    let fields = [
        Field::new("a", "", Input::Ref("applications")),
        Field::new("r", "", Input::Ref("resources")),
    ];
    directory::load_refs(ctx, zone, &fields)
        .await
        .into_values()
        .flatten()
        .collect()
}

/// An application or resource id as a link named after it (the id alone when unknown: a user,
/// or something since deleted).
fn named(zone: &str, names: &HashMap<String, String>, kind: &str, id: Option<&Value>) -> Markup {
    let id = show(id);
    html! {
        @match names.get(&id) {
            Some(name) => a href=(format!("{}/{}", zone_href(zone, kind), seg(&id))) title=(id) { (name) },
            None => (id),
        }
    }
}

/// A list of scopes, or "none" (an empty list would show as nothing at all).
fn scopes(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        Some(a) if !a.is_empty() => show(v),
        _ => "none".to_owned(),
    }
}

/// Determining policies (`{policy_id, policy_name, policy_version}`) as links to the policies.
fn policies_named(zone: &str, list: Option<&Value>) -> Markup {
    let items = list.and_then(Value::as_array).cloned().unwrap_or_default();
    html! {
        @if items.is_empty() { "—" }
        @for (i, p) in items.iter().enumerate() {
            @if i > 0 { ", " }
            @match p.get("policy_id").and_then(Value::as_str) {
                Some(pid) => { a href=(format!("{}/{}", zone_href(zone, "policies"), seg(pid))) { (show(p.get("policy_name").or(p.get("policy_id")))) } " (version " (show(p.get("policy_version"))) ")" },
                None => code { (show(Some(p))) },
            }
        }
    }
}

const GRANTS: &[&str] = &[
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "authorization_code",
    "refresh_token",
];

async fn try_form(ctx: Ctx, Path(zone): Path<String>) -> Response {
    try_page(&ctx, &zone, &Value::Null, None, None).await
}

async fn try_page(
    ctx: &Ctx,
    zone: &str,
    values: &Value,
    result: Option<&Value>,
    error: Option<&ApiFailure>,
) -> Response {
    let (zid, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let sets = ctx
        .api
        .get_all(&ctx.call(), &api_path(zone, "policy-sets"))
        .await;
    let mut choices = Vec::new();
    for s in sets
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let vid = s
            .get("active_version_id")
            .or(s.get("latest_version_id"))
            .and_then(Value::as_str);
        if let (Some(sid), Some(vid)) = (s.get("id").and_then(Value::as_str), vid) {
            choices.push((
                format!("{sid}/{vid}"),
                format!(
                    "{} ({})",
                    show(s.get("name")),
                    if s.get("active") == Some(&Value::Bool(true)) {
                        "active version"
                    } else {
                        "latest version"
                    }
                ),
            ));
        }
    }
    let v = |k: &str| {
        values
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let body = html! {
        p.hint { "Ask a policy set version what it would decide for a token request. Nothing is issued and nothing is logged." }
        @if let Some(e) = error { (layout::alert(e)) }
        @if let Some(r) = result {
            @let dec = show(r.get("decision"));
            div.card #try-result role="status" {
                p { "Decision: " span class={"badge " (dec)} { (dec) } }
                @if let Some(m) = r.get("message").and_then(Value::as_str) { p { (m) } }
                p { "Determining policies: " (policies_named(zone, r.get("determining_policies"))) }
                p { "Scopes granted: " (scopes(r.get("scopes"))) " · denied: " (scopes(r.get("denied_scopes"))) }
            }
        }
        form.card method="post" action=(zone_href(zone, "try")) {
            (csrf_field(ctx))
            label for="set" { "Policy set version" }
            select #set name="set" required { @for (val, label) in &choices { option value=(val) selected[v("set") == *val] { (label) } } }
            label for="grant_type" { "Grant type" }
            select #grant_type name="grant_type" { @for g in GRANTS { option value=(g) selected[v("grant_type") == *g] { (g) } } }
            label for="client_id" { "Client id (required)" } input #client_id type="text" name="client_id" required value=(v("client_id"));
            label for="resource" { "Resource (required)" } input #resource type="text" name="resource" required value=(v("resource"));
            label for="scope" { "Scope" } input #scope type="text" name="scope" value=(v("scope"));
            label for="subject" { "User (identifier), for user grants" } input #subject type="text" name="subject" value=(v("subject"));
            button type="submit" #try-submit { "Evaluate" }
        }
    };
    layout::page(
        ctx,
        "Try a request",
        &Place {
            zone: Some((&zid, &zname)),
            tab: "try",
        },
        body,
    )
}

async fn try_request(
    ctx: Ctx,
    Path(zone): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let mut body = serde_json::Map::new();
    for k in ["grant_type", "client_id", "resource", "scope", "subject"] {
        if let Some(v) = form.get(k) {
            body.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    }
    let mut values = body.clone();
    values.insert(
        "set".into(),
        Value::String(form.get("set").unwrap_or("").to_owned()),
    );
    let values = Value::Object(values);
    let Some((set, version)) = form.get("set").and_then(|s| s.split_once('/')) else {
        return try_page(
            &ctx,
            &zone,
            &values,
            None,
            Some(&directory::invalid(super::forms::Invalid {
                message: "`set`: choose a policy set version".into(),
            })),
        )
        .await;
    };
    let path = format!(
        "{}/{}/versions/{}/evaluate",
        api_path(&zone, "policy-sets"),
        seg(set),
        seg(version)
    );
    match ctx.api.post(&ctx.call(), &path, &Value::Object(body)).await {
        Ok(r) => try_page(&ctx, &zone, &values, Some(&r), None).await,
        Err(e) => try_page(&ctx, &zone, &values, None, Some(&e)).await,
    }
}
