//! Policy sets (list, create, versions with their manifests, activate and shadow, the
//! attestation of a version), the decision log, and "try a request" (the dry-run evaluate
//! endpoint of a policy set version).

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ConsoleState;
use super::api::{ApiFailure, seg, with_query};
use super::directory::{self, ListQuery, api_path, zone_name};
use super::forms::Submitted;
use super::kinds::{Field, Input};
use super::layout::{self, Place, csrf_field, show, zone_href};
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
        .route("/console/zones/{zone}/decisions", get(decisions))
        .route("/console/zones/{zone}/try", get(try_form).post(try_request))
}

async fn list(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<ListQuery>) -> Response {
    list_page(&ctx, &zone, &q, None).await
}

async fn list_page(ctx: &Ctx, zone: &str, q: &ListQuery, error: Option<&ApiFailure>) -> Response {
    let (zid, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let params = [
        ("limit", "25"),
        ("after", q.after.as_deref().unwrap_or("")),
        ("before", q.before.as_deref().unwrap_or("")),
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
        @if items.is_empty() { (layout::empty("policy sets", "Create a set, give it a version listing your policies, and activate it.")) } @else {
            (layout::table(&items, &[("Name", "name"), ("Mode", "mode"), ("Active version", "active_version"), ("Latest version", "latest_version"), ("Owner", "owner_type")], |p| p.get("id").and_then(Value::as_str).map(|id| format!("{base}/{}", seg(id)))))
            (layout::pager(&base, &[], &list))
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
    let versions = ctx
        .api
        .get(&ctx.call(), &format!("{base}/versions?limit=50"))
        .await
        .unwrap_or(Value::Null);
    let versions = layout::items(&versions);
    let policies = ctx
        .api
        .get(
            &ctx.call(),
            &format!("{}?limit=100", api_path(zone, "policies")),
        )
        .await
        .unwrap_or(Value::Null);
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
        .get(
            &ctx.call(),
            &format!("{base}/policies?limit=100&format=cedar"),
        )
        .await
        .unwrap_or(Value::Null);
    let policies = layout::items(&policies);
    // (entries and versions name their policy by id only: the names, from the zone's policies)
    let listed = ctx
        .api
        .get(
            &ctx.call(),
            &format!("{}?limit=100", api_path(&zone, "policies")),
        )
        .await
        .unwrap_or(Value::Null);
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
        .get(
            &ctx.call(),
            &format!("{}?limit=100", api_path(zone, "policy-sets")),
        )
        .await
        .unwrap_or(Value::Null);
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
