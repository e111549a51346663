//! Policy sets: list, create, versions with their manifests, activate and shadow, the
//! attestation of a version. The decision log and "try a request" are `decisions.rs`.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, ListQuery, api_path, zone_name};
use super::forms::Submitted;
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::policies::VERSIONS_SHOWN;
use super::session::Ctx;

const NAME: &[Field] = &[Field::new("name", "Name", Input::Text).required()];

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/zones/{zone}/policy-sets", get(list).post(create))
        .route(
            "/console/zones/{zone}/policy-sets/{id}",
            get(detail).post(new_version),
        )
        .route(
            "/console/zones/{zone}/policy-sets/{id}/versions/{version}",
            get(version),
        )
        .route(
            "/console/zones/{zone}/policy-sets/{id}/versions/{version}/bind",
            post(bind),
        )
}

async fn list(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<ListQuery>) -> Response {
    list_page(&ctx, &zone, &q, None).await
}

async fn list_page(ctx: &Ctx, zone: &str, q: &ListQuery, error: Option<&ApiFailure>) -> Response {
    let (zid, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let query = q.query.clone().unwrap_or_default();
    let params = [
        ("limit", "25"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
        ("query", query.as_str()),
    ];
    let list = match ctx
        .api
        .get(
            &ctx.call(),
            &with_query(&api_path(zone, "policy-sets"), &params),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let items = layout::items(&list);
    let base = zone_href(zone, "policy-sets");
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        (layout::search(&base, "policy sets", &query))
        @if items.is_empty() { (layout::empty_or_no_match("policy sets", "Create a set, give it a version listing your policies, and activate it.", &query)) } @else {
            (layout::table(&items, &[("Name", "name"), ("Mode", "mode"), ("Active version", "active_version"), ("Latest version", "latest_version"), ("Owner", "owner_type")], |p| p.get("id").and_then(Value::as_str).map(|id| format!("{base}/{}", seg(id)))))
            (layout::pager(&base, &[("query", query.as_str())], &list))
        }
        h2 #create { "New policy set" }
        @if let Some(e) = error { (layout::alert(e)) }
        form.card method="post" action=(base) {
            (csrf_field(ctx))
            (directory::inputs(NAME, &Value::Null, &Default::default()))
            button type="submit" #create-policy-set { "Create policy set" }
        }
    };
    layout::page(
        ctx,
        "Policy sets",
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policy-sets",
        },
        body,
    )
}

async fn create(ctx: Ctx, Path(zone): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let body = json!({"name": form.get("name").unwrap_or("")});
    match ctx
        .api
        .post(&ctx.call(), &api_path(&zone, "policy-sets"), &body)
        .await
    {
        Ok(s) => layout::redirect_notice(
            &format!(
                "{}/{}",
                zone_href(&zone, "policy-sets"),
                seg(&show(s.get("id")))
            ),
            "Policy set created. Give it a version.",
        ),
        Err(e) => list_page(&ctx, &zone, &ListQuery::default(), Some(&e)).await,
    }
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn detail(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    detail_page(&ctx, &zone, &id, q.notice.as_deref(), None).await
}

async fn detail_page(
    ctx: &Ctx,
    zone: &str,
    id: &str,
    notice: Option<&str>,
    error: Option<&ApiFailure>,
) -> Response {
    let (zid, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let base = format!("{}/{}", api_path(zone, "policy-sets"), seg(id));
    let set = match ctx.api.get(&ctx.call(), &base).await {
        Ok(s) => s,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let listed = ctx
        .api
        .get(
            &ctx.call(),
            &format!("{base}/versions?limit={VERSIONS_SHOWN}"),
        )
        .await
        .unwrap_or(Value::Null);
    let versions = layout::items(&listed);
    let policies = ctx
        .api
        .get_all(&ctx.call(), &api_path(zone, "policies"))
        .await;
    let policies: Vec<Value> = layout::items(&policies)
        .into_iter()
        .filter(|p| p.get("latest_version_id").is_some_and(|v| !v.is_null()))
        .collect();
    let here = format!("{}/{}", zone_href(zone, "policy-sets"), seg(id));
    let platform = set.get("owner_type").and_then(Value::as_str) == Some("platform");
    let name = show(set.get("name"));
    let body = html! {
        (layout::notice(notice))
        @if let Some(e) = error { (layout::alert(e)) }
        p { a href=(zone_href(zone, "policy-sets")) { "← All policy sets" } }
        (directory::properties(&set))
        h2 { "Versions" }
        @if versions.is_empty() { (layout::empty("versions", "Choose the policies of the first version below.")) } @else {
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Policies" } th scope="col" { "State" } th scope="col" { "Manifest SHA" } th scope="col" { "Bind" } } }
                tbody { @for v in &versions { @let vid = show(v.get("id")); tr {
                    td { a href=(format!("{here}/versions/{}", seg(&vid))) { "Version " (show(v.get("version"))) } }
                    td { (layout::field(v, "manifest.entries").and_then(Value::as_array).map_or(0, Vec::len)) }
                    td { @if v.get("active") == Some(&Value::Bool(true)) { span.badge.active { "active" } } @if v.get("shadow") == Some(&Value::Bool(true)) { " " span.badge.shadow { "shadow" } } }
                    td { code { (show(v.get("manifest_sha")).chars().take(12).collect::<String>()) } }
                    td {
                        @if v.get("active") != Some(&Value::Bool(true)) {
                            form.inline method="post" action=(format!("{here}/versions/{}/bind", seg(&vid))) { (csrf_field(ctx)) input type="hidden" name="mode" value="active"; button.small type="submit" id={"activate-" (show(v.get("version")))} { "Activate" } }
                        }
                        @if v.get("shadow") == Some(&Value::Bool(true)) {
                            form.inline method="post" action=(format!("{here}/versions/{}/bind", seg(&vid))) { (csrf_field(ctx)) input type="hidden" name="mode" value="unshadow"; button.small.secondary type="submit" { "Stop shadowing" } }
                        } @else if v.get("active") != Some(&Value::Bool(true)) {
                            form.inline method="post" action=(format!("{here}/versions/{}/bind", seg(&vid))) { (csrf_field(ctx)) input type="hidden" name="mode" value="shadow"; button.small.secondary type="submit" { "Shadow" } }
                        }
                    }
                } } }
            }
            (layout::more_in_api(&listed, &format!("{VERSIONS_SHOWN} newest versions")))
            p.hint { "Shadow: the version is evaluated beside the active one and its decisions are logged, without deciding anything." }
        }
        @if !platform {
            h2 { "New version" }
            @if policies.is_empty() { (layout::empty("policies with versions", "Write a policy first; each policy's latest version can go into a set version.")) } @else {
                form.card method="post" action=(here) {
                    (csrf_field(ctx))
                    fieldset { legend { "Policies (each at its latest version)" }
                        @for p in &policies { @let pid = show(p.get("id"));
                            label.check { input type="checkbox" name="policy" value=(pid) id={"policy-" (pid)}; (show(p.get("name"))) " (version " (show(p.get("latest_version"))) ")" }
                        }
                    }
                    button type="submit" #create-set-version { "Create version" }
                }
            }
        }
    };
    layout::page(
        ctx,
        &format!("Policy set {name}"),
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policy-sets",
        },
        body,
    )
}

async fn new_version(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let Form(pairs) = form;
    let chosen: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "policy")
        .map(|(_, v)| v.clone())
        .collect();
    let form = match Submitted::check(&ctx, Form(pairs)) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    drop(form);
    let mut entries = Vec::new();
    let mut schema = None;
    for pid in &chosen {
        match ctx
            .api
            .get(
                &ctx.call(),
                &format!("{}/{}", api_path(&zone, "policies"), seg(pid)),
            )
            .await
        {
            Ok(p) => {
                schema = schema.or_else(|| p.get("latest_schema_version").cloned());
                entries.push(
                    json!({"policy_id": pid, "policy_version_id": p.get("latest_version_id")}),
                );
            }
            Err(e) => return detail_page(&ctx, &zone, &id, None, Some(&e)).await,
        }
    }
    let schema = match schema {
        Some(s) => s,
        None => default_schema(&ctx, &zone).await,
    };
    let body = json!({"manifest": {"entries": entries}, "schema_version": schema});
    let path = format!("{}/{}/versions", api_path(&zone, "policy-sets"), seg(&id));
    match ctx.api.post(&ctx.call(), &path, &body).await {
        Ok(v) => layout::redirect_notice(
            &format!("{}/{}", zone_href(&zone, "policy-sets"), seg(&id)),
            &format!("Created version {}.", show(v.get("version"))),
        ),
        Err(e) => detail_page(&ctx, &zone, &id, None, Some(&e)).await,
    }
}

async fn default_schema(ctx: &Ctx, zone: &str) -> Value {
    let list = ctx
        .api
        .get(
            &ctx.call(),
            &format!("{}?limit=50", api_path(zone, "policy-schemas")),
        )
        .await
        .unwrap_or(Value::Null);
    list.get("items")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .find(|s| s.get("is_default") == Some(&Value::Bool(true)))
                .or(items.first())
        })
        .and_then(|s| s.get("version").cloned())
        .unwrap_or(Value::Null)
}

async fn bind(
    ctx: Ctx,
    Path((zone, id, version)): Path<(String, String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let (body, done) = match form.get("mode") {
        Some("shadow") => (json!({"shadow": true}), "Version bound as shadow."),
        Some("unshadow") => (json!({"shadow": false}), "Shadow binding removed."),
        _ => (
            json!({"active": true}),
            "Version activated: it decides token requests now.",
        ),
    };
    let path = format!(
        "{}/{}/versions/{}",
        api_path(&zone, "policy-sets"),
        seg(&id),
        seg(&version)
    );
    match ctx.api.patch(&ctx.call(), &path, &body).await {
        Ok(_) => layout::redirect_notice(
            &format!("{}/{}", zone_href(&zone, "policy-sets"), seg(&id)),
            done,
        ),
        Err(e) => detail_page(&ctx, &zone, &id, None, Some(&e)).await,
    }
}

async fn version(ctx: Ctx, Path((zone, id, version)): Path<(String, String, String)>) -> Response {
    let (zid, zname) = match zone_name(&ctx, &zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let base = format!(
        "{}/{}/versions/{}",
        api_path(&zone, "policy-sets"),
        seg(&id),
        seg(&version)
    );
    let v = match ctx.api.get(&ctx.call(), &base).await {
        Ok(v) => v,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let attestation = ctx
        .api
        .get(&ctx.call(), &format!("{base}/attestation"))
        .await
        .ok();
    let policies = ctx
        .api
        .get_all(&ctx.call(), &format!("{base}/policies?format=cedar"))
        .await;
    let policies = layout::items(&policies);
    // (entries and versions name their policy by id only: the names, from the zone's policies)
    let listed = ctx
        .api
        .get_all(&ctx.call(), &api_path(&zone, "policies"))
        .await;
    let names: HashMap<&str, &str> = listed
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.get("id")?.as_str()?, p.get("name")?.as_str()?)))
        .collect();
    let name_of = |p: &Value| {
        let pid = show(p.get("policy_id"));
        names
            .get(pid.as_str())
            .map_or(pid.clone(), |n| (*n).to_owned())
    };
    let entries: Vec<Value> = layout::field(&v, "manifest.entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let mut e = e.clone();
            let name = Value::String(name_of(&e));
            if let Some(o) = e.as_object_mut() {
                o.insert("policy_name".to_owned(), name);
            }
            e
        })
        .collect();
    let body = html! {
        p { a href=(format!("{}/{}", zone_href(&zone, "policy-sets"), seg(&id))) { "← Back to the policy set" } }
        h2 { "Manifest" }
        (layout::table(&entries, &[("Policy", "policy_name"), ("Policy version", "policy_version_id"), ("SHA-256", "sha")], |e| e.get("policy_id").and_then(Value::as_str).map(|pid| format!("{}/{}", zone_href(&zone, "policies"), seg(pid)))))
        p { "Manifest SHA-256: " code #manifest-sha { (show(v.get("manifest_sha"))) } }
        h2 { "Attestation" }
        @match &attestation {
            Some(a) => { p.hint { "A JWS signed with the zone's key over the statement below (RFC 8785 canonical JSON)." } pre #attestation tabindex="0" { (serde_json::to_string_pretty(a).unwrap_or_default()) } },
            None => p { "This version has no attestation." },
        }
        h2 { "Policies" }
        @for p in &policies { h3 { (name_of(p)) " version " (show(p.get("version"))) } pre tabindex="0" { (show(p.get("cedar_raw"))) } }
    };
    layout::page(
        &ctx,
        &format!("Policy set version {}", show(v.get("version"))),
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policy-sets",
        },
        body,
    )
}
