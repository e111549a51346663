//! The generic pages of the zone's objects described in `kinds.rs`: a list (with search where
//! the API has `query`, cursor paging and an empty state) and its create form, a detail page
//! with the edit form and delete button, and the writes behind them. Objects with pages of their
//! own (credentials, policies) reuse the pieces.

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
use super::forms::{self, Submitted};
use super::kinds::{self, Field, Input, Kind};
use super::layout::{self, Place, csrf_field, field, show, zone_href};
use super::session::Ctx;

pub fn router() -> Router<ConsoleState> {
    Router::new().route("/console/zones/{zone}/{kind}", get(list).post(create))
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    pub after: Option<String>,
    pub before: Option<String>,
    pub query: Option<String>,
    pub notice: Option<String>,
}

/// The zone's `(id, name)`, for the navigation.
pub async fn zone_name(ctx: &Ctx, zone: &str) -> Result<(String, String), ApiFailure> {
    let z = ctx
        .api
        .get(&ctx.call(), &format!("/zones/{}", seg(zone)))
        .await?;
    Ok((zone.to_owned(), show(z.get("name"))))
}

/// `/zones/{zone}/{path}` in the API.
pub fn api_path(zone: &str, path: &str) -> String {
    format!("/zones/{}/{path}", seg(zone))
}

async fn list(
    ctx: Ctx,
    Path((zone, kind)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    let Some(k) = kinds::kind(&kind) else {
        return layout::api_failure(&ctx, &not_found(&kind));
    };
    list_page(&ctx, &zone, k, &q, None, &Value::Null).await
}

pub fn not_found(what: &str) -> ApiFailure {
    ApiFailure {
        status: axum::http::StatusCode::NOT_FOUND,
        code: "not_found".to_owned(),
        message: format!("There is no console page `{what}`."),
    }
}

/// A list page with the create form (`error` and `values` when a create was refused).
pub async fn list_page(
    ctx: &Ctx,
    zone: &str,
    k: &Kind,
    q: &ListQuery,
    error: Option<&ApiFailure>,
    values: &Value,
) -> Response {
    let (zone_id, zname) = match zone_name(ctx, zone).await {
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
        .get(&ctx.call(), &with_query(&api_path(zone, k.path), &params))
        .await
    {
        Ok(l) => l,
        Err(e) => return layout::api_failure(ctx, &e),
    };
    // (the vault's list is a bare array, every other list an envelope with `items`)
    let mut items = list
        .get("items")
        .unwrap_or(&list)
        .as_array()
        .cloned()
        .unwrap_or_default();
    with_emails(ctx, k, &mut items).await;
    let refs = load_refs(ctx, zone, k.create).await;
    let base = zone_href(zone, k.path);
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        @if k.search { (layout::search(&base, &k.title.to_lowercase(), &query)) }
        @if items.is_empty() {
            (layout::empty_or_no_match(&k.title.to_lowercase(), k.empty_hint, &query))
        } @else {
            (layout::table(&items, k.columns, |it| it.get(k.key).and_then(Value::as_str).map(|id| format!("{base}/{}", seg(id)))))
            (layout::pager(&base, &[("query", query.as_str())], &list))
        }
        @if !k.create.is_empty() {
            h2 #create { "Add " (k.singular) }
            @if let Some(e) = error { (layout::alert(e)) }
            form.card method="post" action=(base) {
                (csrf_field(ctx))
                (inputs(k.create, values, &refs))
                button type="submit" #create-submit { "Create " (k.singular) }
            }
        }
    };
    let place = Place {
        zone: Some((&zone_id, &zname)),
        tab: k.path,
    };
    layout::page(ctx, k.title, &place, body)
}

/// The vault's single-secret read is the one API answer that carries the secret's value
/// (`data`); the console keeps values write-only and shows only their type.
pub fn redact(k: &Kind, item: &mut Value) {
    if k.path != "secrets" {
        return;
    }
    if let Some(o) = item.as_object_mut()
        && let Some(data) = o.remove("data")
    {
        let kind = data.get("type").cloned().unwrap_or(Value::Null);
        o.insert("data".to_owned(), serde_json::json!({ "type": kind }));
    }
}

/// Zone members carry only their organization user id: adds each one's `email`, from the
/// organization's people, for the list and the page title.
pub async fn with_emails(ctx: &Ctx, k: &Kind, items: &mut [Value]) {
    if k.path != "members" || items.is_empty() {
        return;
    }
    let people = ctx
        .api
        .get_all(
            &ctx.call(),
            &format!("/organizations/{}/users", seg(ctx.org())),
        )
        .await;
    let emails: HashMap<&str, &str> = people
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| Some((u.get("id")?.as_str()?, u.get("email")?.as_str()?)))
        .collect();
    for item in items {
        let email = item
            .get("organization_user_id")
            .and_then(Value::as_str)
            .and_then(|id| emails.get(id))
            .map(|e| Value::String((*e).to_owned()));
        if let (Some(e), Some(o)) = (email, item.as_object_mut()) {
            o.insert("email".to_owned(), e);
        }
    }
}

/// The `(id, name)` choices of every `Ref` field.
pub async fn load_refs(
    ctx: &Ctx,
    zone: &str,
    fields: &[Field],
) -> HashMap<&'static str, Vec<(String, String)>> {
    let mut out = HashMap::new();
    for f in fields {
        if let Input::Ref(path) = f.input
            && !out.contains_key(path)
        {
            let list = ctx.api.get_all(&ctx.call(), &api_path(zone, path)).await;
            let choices = list
                .get("items")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            Some((i.get("id")?.as_str()?.to_owned(), show(i.get("name"))))
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.insert(path, choices);
        }
    }
    out
}

/// The inputs of `fields`, filled from `values`.
pub fn inputs(
    fields: &[Field],
    values: &Value,
    refs: &HashMap<&'static str, Vec<(String, String)>>,
) -> Markup {
    html! {
        @for f in fields {
            @let id = f.name.replace('.', "-");
            @let current = field(values, f.name);
            @let text = match current { None | Some(Value::Null) => String::new(), Some(Value::String(s)) => s.clone(), Some(v) if f.input == Input::Lines => v.as_array().map(|a| a.iter().map(|x| show(Some(x))).collect::<Vec<_>>().join("\n")).unwrap_or_default(), Some(v) => v.to_string() };
            @if f.input == Input::Check {
                label.check for=(id) { input #(id) type="checkbox" name=(f.name) value="true" checked[current == Some(&Value::Bool(true))]; (f.label) }
            } @else {
                label for=(id) { (f.label) @if f.required { " (required)" } }
                @match f.input {
                    Input::Long | Input::Lines => textarea #(id) name=(f.name) rows="3" required[f.required] { (text) },
                    Input::Secret => input #(id) type="password" name=(f.name) autocomplete="new-password";,
                    Input::Number => input #(id) type="number" name=(f.name) value=(text) required[f.required];,
                    Input::Url => input #(id) type="url" name=(f.name) value=(text) required[f.required];,
                    Input::Choice(options) => select #(id) name=(f.name) required[f.required] {
                        @if !f.required { option value="" { "—" } }
                        @for o in options { option value=(o) selected[text == *o] { (o) } }
                    },
                    Input::Ref(path) => select #(id) name=(f.name) required[f.required] {
                        option value="" { "—" }
                        @for (rid, name) in refs.get(path).map(Vec::as_slice).unwrap_or_default() { option value=(rid) selected[text == *rid] { (name) " (" (rid) ")" } }
                    },
                    _ => input #(id) type="text" name=(f.name) value=(text) required[f.required];,
                }
            }
            @if !f.hint.is_empty() { p.hint { (f.hint) } }
        }
    }
}

async fn create(
    ctx: Ctx,
    Path((zone, kind)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> Response {
    let Some(k) = kinds::kind(&kind).filter(|k| !k.create.is_empty()) else {
        return layout::api_failure(&ctx, &not_found(&kind));
    };
    let form = match Submitted::check(&ctx, form) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let echo = echo(k.create, &form);
    let body = match forms::body(k.create, &form, false) {
        Ok(b) => b,
        Err(e) => {
            return list_page(
                &ctx,
                &zone,
                k,
                &ListQuery::default(),
                Some(&invalid(e)),
                &echo,
            )
            .await;
        }
    };
    match ctx
        .api
        .post(&ctx.call(), &api_path(&zone, k.path), &body)
        .await
    {
        Ok(created) => {
            let id = show(created.get(k.key));
            layout::redirect_notice(
                &format!("{}/{}", zone_href(&zone, k.path), seg(&id)),
                &format!(
                    "Created {} {}.",
                    k.singular,
                    show(created.get("name").or(created.get("id")))
                ),
            )
        }
        Err(e) => list_page(&ctx, &zone, k, &ListQuery::default(), Some(&e), &echo).await,
    }
}

/// A refusal of the console's own form checks, shown like the API's.
pub fn invalid(e: forms::Invalid) -> ApiFailure {
    ApiFailure {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "invalid_field".to_owned(),
        message: e.message,
    }
}

/// The submitted values (secrets left out), to fill a form shown again after a refusal.
pub fn echo(fields: &[Field], form: &Submitted) -> Value {
    let mut out = serde_json::Map::new();
    for f in fields.iter().filter(|f| f.input != Input::Secret) {
        if let Some(v) = form.raw(f.name) {
            let v = if f.input == Input::Check {
                Value::Bool(true)
            } else if f.input == Input::Lines {
                Value::Array(v.lines().map(|l| Value::String(l.to_owned())).collect())
            } else {
                Value::String(v.to_owned())
            };
            nest(&mut out, f.name, v);
        }
    }
    Value::Object(out)
}

fn nest(obj: &mut serde_json::Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_owned(), v);
        }
        Some((head, rest)) => {
            if let Value::Object(m) = obj
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Default::default()))
            {
                nest(m, rest, v);
            }
        }
    }
}

/// Every property of an object (objects and arrays of objects as JSON), secrets never included
/// (the API leaves them out).
pub fn properties(item: &Value) -> Markup {
    html! {
        dl.props {
            @if let Some(obj) = item.as_object() {
                @for (k, v) in obj {
                    dt { (k) }
                    dd {
                        @match v {
                            Value::Object(_) => code { (v.to_string()) },
                            Value::Array(a) if a.iter().any(Value::is_object) => code { (v.to_string()) },
                            _ => (show(Some(v))),
                        }
                    }
                }
            }
        }
    }
}
