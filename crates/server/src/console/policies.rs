//! Policies: the list with its create form, the Cedar editor (a new version per save; a
//! validation error is shown at its line in the submitted text), the versions and a line diff
//! between two of them, and archiving.

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
use super::forms::{self, Submitted};
use super::kinds::POLICY_FIELDS;
use super::layout::{self, Place, csrf_field, show, zone_href};
use super::session::Ctx;

/// Versions shown on a policy's or a policy set's page, newest first.
pub const VERSIONS_SHOWN: usize = 50;

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route("/console/zones/{zone}/policies", get(list).post(create))
        .route(
            "/console/zones/{zone}/policies/{id}",
            get(editor).post(save_version),
        )
        .route("/console/zones/{zone}/policies/{id}/diff", get(diff))
        .route("/console/zones/{zone}/policies/{id}/archive", post(archive))
}

async fn list(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<ListQuery>) -> Response {
    list_page(&ctx, &zone, &q, None, &Value::Null).await
}

async fn list_page(
    ctx: &Ctx,
    zone: &str,
    q: &ListQuery,
    error: Option<&ApiFailure>,
    values: &Value,
) -> Response {
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
            &with_query(&api_path(zone, "policies"), &params),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let items = layout::items(&list);
    let base = zone_href(zone, "policies");
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        (layout::search(&base, "policies", &query))
        @if items.is_empty() { (layout::empty_or_no_match("policies", "Write a Cedar policy below; it takes effect once a policy set version that includes it is activated.", &query)) } @else {
            (layout::table(&items, &[("Name", "name"), ("Latest version", "latest_version"), ("Schema", "latest_schema_version"), ("Owner", "owner_type"), ("Updated", "updated_at")], |p| p.get("id").and_then(Value::as_str).map(|id| format!("{base}/{}", seg(id)))))
            (layout::pager(&base, &[("query", query.as_str())], &list))
        }
        h2 #create { "New policy" }
        @if let Some(e) = error { (layout::alert(e)) }
        form.card method="post" action=(base) {
            (csrf_field(ctx))
            (directory::inputs(POLICY_FIELDS, values, &Default::default()))
            button type="submit" #create-policy { "Create policy" }
        }
    };
    layout::page(
        ctx,
        "Policies",
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policies",
        },
        body,
    )
}

async fn create(ctx: Ctx, Path(zone): Path<String>, form: Form<Vec<(String, String)>>) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let echo = directory::echo(POLICY_FIELDS, &form);
    let body = match forms::body(POLICY_FIELDS, &form, false) {
        Ok(b) => b,
        Err(e) => {
            return list_page(
                &ctx,
                &zone,
                &ListQuery::default(),
                Some(&directory::invalid(e)),
                &echo,
            )
            .await;
        }
    };
    match ctx
        .api
        .post(&ctx.call(), &api_path(&zone, "policies"), &body)
        .await
    {
        Ok(p) => layout::redirect_notice(
            &format!(
                "{}/{}",
                zone_href(&zone, "policies"),
                seg(&show(p.get("id")))
            ),
            "Policy created. Write its first version.",
        ),
        Err(e) => list_page(&ctx, &zone, &ListQuery::default(), Some(&e), &echo).await,
    }
}

#[derive(serde::Deserialize)]
struct EditorQuery {
    notice: Option<String>,
}

async fn editor(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    Query(q): Query<EditorQuery>,
) -> Response {
    editor_page(&ctx, &zone, &id, q.notice.as_deref(), None).await
}

/// A refused save: the text as submitted and the API's refusal.
struct Refused<'a> {
    text: &'a str,
    schema: &'a str,
    error: &'a ApiFailure,
}

async fn editor_page(
    ctx: &Ctx,
    zone: &str,
    id: &str,
    notice: Option<&str>,
    refused: Option<Refused<'_>>,
) -> Response {
    let (zid, zname) = match zone_name(ctx, zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let base = format!("{}/{}", api_path(zone, "policies"), seg(id));
    let policy = match ctx.api.get(&ctx.call(), &base).await {
        Ok(p) => p,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    let listed = ctx
        .api
        .get(
            &ctx.call(),
            &format!("{base}/versions?limit={VERSIONS_SHOWN}&format=cedar"),
        )
        .await
        .unwrap_or(Value::Null);
    let versions = layout::items(&listed);
    let schemas = schema_versions(ctx, zone).await;
    let latest = versions
        .first()
        .and_then(|v| v.get("cedar_raw"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let text = refused.as_ref().map_or(latest, |r| r.text);
    let chosen_schema = refused.as_ref().map(|r| r.schema.to_owned()).or_else(|| {
        policy
            .get("latest_schema_version")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let platform = policy.get("owner_type").and_then(Value::as_str) == Some("platform");
    let here = format!("{}/{}", zone_href(zone, "policies"), seg(id));
    let name = show(policy.get("name"));
    let body = html! {
        (layout::notice(notice))
        p { a href=(zone_href(zone, "policies")) { "← All policies" } }
        @if let Some(d) = policy.get("description").and_then(Value::as_str) { p { (d) } }
        @if let Some(r) = &refused {
            (layout::alert(r.error))
            h2 { "Your text, with the problem marked" }
            (annotated(r.text, r.error))
        }
        @if !platform {
            h2 { "Edit" }
            form.card method="post" action=(here) {
                (csrf_field(ctx))
                label for="cedar" { "Cedar policy" }
                textarea.code #cedar name="cedar_raw" rows="14" spellcheck="false" required { (text) }
                label for="schema_version" { "Validate against schema" }
                select #schema_version name="schema_version" {
                    @for (v, default) in &schemas { option value=(v) selected[chosen_schema.as_deref().map_or(*default, |c| c == v)] { (v) @if *default { " (default)" } } }
                }
                button type="submit" #save-version { "Save as a new version" }
            }
        }
        h2 { "Versions" }
        @if versions.is_empty() { (layout::empty("versions", "Save the policy text above to make version 1.")) } @else {
            form method="get" action=(format!("{here}/diff")) {
                table {
                    thead { tr { th scope="col" { "Version" } th scope="col" { "Schema" } th scope="col" { "SHA-256" } th scope="col" { "Created" } th scope="col" { "From" } th scope="col" { "To" } } }
                    tbody { @for (i, v) in versions.iter().enumerate() { @let vid = show(v.get("id")); tr {
                        td { (show(v.get("version"))) } td { (show(v.get("schema_version"))) } td { code { (show(v.get("sha")).chars().take(12).collect::<String>()) } } td { (show(v.get("created_at"))) }
                        td { input type="radio" name="a" value=(vid) checked[i == 1] aria-label={"Compare from version " (show(v.get("version")))}; }
                        td { input type="radio" name="b" value=(vid) checked[i == 0] aria-label={"Compare to version " (show(v.get("version")))}; }
                    } } }
                }
                @if versions.len() > 1 { button.secondary type="submit" #compare { "Compare versions" } }
            }
            (layout::more_in_api(&listed, &format!("{VERSIONS_SHOWN} newest versions")))
        }
        @if !platform {
            h2 { "Archive" }
            form method="post" action=(format!("{here}/archive")) data-confirm="Archive this policy?" { (csrf_field(ctx)) button.danger type="submit" { "Archive policy" } }
        }
    };
    layout::page(
        ctx,
        &format!("Policy {name}"),
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policies",
        },
        body,
    )
}

/// The zone's schema versions, with which one is the default.
async fn schema_versions(ctx: &Ctx, zone: &str) -> Vec<(String, bool)> {
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
        .map(|items| {
            items
                .iter()
                .filter_map(|s| {
                    Some((
                        s.get("version")?.as_str()?.to_owned(),
                        s.get("is_default")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The 1-based line a validation message names (`… at line 3, column 7`).
pub fn error_line(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// The submitted text with line numbers and the error under its line.
fn annotated(text: &str, error: &ApiFailure) -> Markup {
    let bad = error_line(&error.message);
    html! {
        div.editor #annotated tabindex="0" {
            @for (i, line) in text.lines().enumerate() {
                @let n = i + 1;
                span.ln { (n) }
                span.src.bad[bad == Some(n)] id=[(bad == Some(n)).then_some("error-line")] { (line) " " }
                @if bad == Some(n) { span.ln {} span.lineerr role="alert" { "Line " (n) ": " (error.message) } }
            }
        }
    }
}

async fn save_version(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let text = form.raw("cedar_raw").unwrap_or("").replace("\r\n", "\n");
    let schema = form.get("schema_version").unwrap_or("").to_owned();
    let body = json!({"cedar_raw": text, "schema_version": schema});
    let path = format!("{}/{}/versions", api_path(&zone, "policies"), seg(&id));
    match ctx.api.post(&ctx.call(), &path, &body).await {
        Ok(v) => layout::redirect_notice(
            &format!("{}/{}", zone_href(&zone, "policies"), seg(&id)),
            &format!("Saved version {}.", show(v.get("version"))),
        ),
        Err(e) => {
            editor_page(
                &ctx,
                &zone,
                &id,
                None,
                Some(Refused {
                    text: &text,
                    schema: &schema,
                    error: &e,
                }),
            )
            .await
        }
    }
}

#[derive(serde::Deserialize)]
struct DiffQuery {
    a: String,
    b: String,
}

async fn diff(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> Response {
    let (zid, zname) = match zone_name(&ctx, &zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let base = format!("{}/{}/versions", api_path(&zone, "policies"), seg(&id));
    let mut texts = Vec::new();
    for v in [&q.a, &q.b] {
        match ctx
            .api
            .get(&ctx.call(), &format!("{base}/{}?format=cedar", seg(v)))
            .await
        {
            Ok(v) => texts.push((
                show(v.get("version")),
                v.get("cedar_raw")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )),
            Err(e) => return layout::api_failure(&ctx, &e),
        }
    }
    let (from, to) = (&texts[0], &texts[1]);
    let body = html! {
        p { a href=(format!("{}/{}", zone_href(&zone, "policies"), seg(&id))) { "← Back to the policy" } }
        p { "From version " (from.0) " to version " (to.0) ": " span.badge.deny { "− removed" } " " span.badge.allow { "+ added" } }
        pre.diff #diff tabindex="0" { @for (op, line) in line_diff(&from.1, &to.1) {
            @match op { '+' => span.add { "+ " (line) "\n" }, '-' => span.del { "- " (line) "\n" }, _ => span { "  " (line) "\n" } }
        } }
    };
    layout::page(
        &ctx,
        "Compare versions",
        &Place {
            zone: Some((&zid, &zname)),
            tab: "policies",
        },
        body,
    )
}

/// A line diff (longest common subsequence): `(' ' | '-' | '+', line)`.
pub fn line_diff<'a>(a: &'a str, b: &'a str) -> Vec<(char, &'a str)> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(('+', b[j]));
            j += 1;
        } else {
            out.push(('-', a[i]));
            i += 1;
        }
    }
    out
}

async fn archive(
    ctx: Ctx,
    Path((zone, id)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = Submitted::check(&ctx, form) {
        return r.into_response();
    }
    match ctx
        .api
        .delete(
            &ctx.call(),
            &format!("{}/{}", api_path(&zone, "policies"), seg(&id)),
        )
        .await
    {
        Ok(_) => layout::redirect_notice(&zone_href(&zone, "policies"), "Policy archived."),
        Err(e) => layout::api_failure(&ctx, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_error_line_and_diffs_lines() {
        assert_eq!(error_line("unexpected token at line 3, column 7"), Some(3));
        assert_eq!(error_line("no position"), None);
        let d = line_diff("a\nb\nc", "a\nc\nd");
        assert_eq!(d, vec![(' ', "a"), ('-', "b"), (' ', "c"), ('+', "d")]);
    }
}
