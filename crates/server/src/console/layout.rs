//! The console's page shell and small building blocks: the HTML document with its security
//! headers (strict CSP with only the console's own script and style, no framing, no caching, no
//! referrer), the navigation, flash messages, tables, pagers, empty states, CSRF checks and
//! redirects. Pages are maud templates: every value is escaped by construction.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::api::{ApiFailure, cursor, seg, with_query};
pub use super::nav::{redirect, redirect_notice, to_sign_in};
use super::session::Ctx;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the console's security headers.
fn harden(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) " · Latchkey" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body { (body) }
        }
    }
}

/// A page without navigation (sign-in, errors before sign-in).
pub fn bare(title: &str, body: Markup) -> Response {
    let page = document(title, html! { main.narrow { (body) } });
    harden(Html(page.into_string()).into_response())
}

/// Where a page sits: the zone it belongs to (for the zone navigation) and the active tab.
#[derive(Default)]
pub struct Place<'a> {
    pub zone: Option<(&'a str, &'a str)>,
    pub tab: &'a str,
}

const ORG_TABS: &[(&str, &str)] = &[
    ("zones", "Zones"),
    ("members", "People"),
    ("invitations", "Invitations"),
    ("service-accounts", "Service accounts"),
    ("sso", "SSO"),
    ("audit", "Audit log"),
];

/// The zone's pages: `(path under the zone, label)`.
pub const ZONE_TABS: &[(&str, &str)] = &[
    ("", "Overview"),
    ("applications", "Applications"),
    ("application-credentials", "Credentials"),
    ("resources", "Resources"),
    ("providers", "Providers"),
    ("secrets", "Secrets"),
    ("policies", "Policies"),
    ("policy-sets", "Policy sets"),
    ("decisions", "Decisions"),
    ("try", "Try a request"),
    ("users", "Users"),
    ("sessions", "Sessions"),
    ("delegated-grants", "Delegated grants"),
    ("user-agents", "User agents"),
    ("members", "Members"),
    ("settings", "Settings"),
    ("keys", "Signing keys"),
];

/// A signed-in page with the organization bar and navigation.
pub fn page(ctx: &Ctx, title: &str, place: &Place<'_>, body: Markup) -> Response {
    let s = &ctx.session;
    let shell = html! {
        a.skip href="#content" { "Skip to content" }
        header.top {
            a.brand href="/console/zones" { "Latchkey" }
            form.switch method="post" action="/console/switch" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="organization-switch" { "Organization" }
                select #organization-switch name="organization" data-autosubmit {
                    option value=(s.organization_id) selected { (s.organization_name) }
                    @for (id, name) in &ctx.others { option value=(id) { (name) } }
                }
                button.small type="submit" { "Switch" }
            }
            a.small href="/console/sign-in" { "Sign in to another organization" }
            span.who { (s.email) }
            form method="post" action="/console/sign-out" {
                input type="hidden" name="csrf" value=(s.csrf);
                button.small.secondary #sign-out type="submit" { "Sign out" }
            }
        }
        div.frame {
            nav aria-label="Organization" {
                ul {
                    @for (path, label) in ORG_TABS {
                        li { a href={"/console/" (path)} aria-current=[(place.zone.is_none() && place.tab == *path).then_some("page")] { (label) } }
                    }
                }
                @if let Some((zid, zname)) = place.zone {
                    h2.navhead { (zname) }
                    ul aria-label="Zone" {
                        @for (path, label) in ZONE_TABS {
                            li { a href=(zone_href(zid, path)) aria-current=[(place.tab == *path).then_some("page")] { (label) } }
                        }
                    }
                }
            }
            main #content {
                h1 { (title) }
                (body)
            }
        }
    };
    harden(Html(document(title, shell).into_string()).into_response())
}

/// `/console/zones/{zone}[/{path}]`.
pub fn zone_href(zone: &str, path: &str) -> String {
    if path.is_empty() {
        format!("/console/zones/{}", seg(zone))
    } else {
        format!("/console/zones/{}/{path}", seg(zone))
    }
}

/// Whether a submitted CSRF token is the session's.
pub fn csrf_ok(ctx: &Ctx, submitted: &str) -> bool {
    latchkey_crypto::keyed_hash::constant_time_eq(submitted.as_bytes(), ctx.session.csrf.as_bytes())
}

pub fn csrf_refused() -> Response {
    let body = html! {
        h1 { "This form expired" }
        div.error role="alert" { "The form was not sent from this console session. Go back, reload the page and try again." }
        p { a href="/console/zones" { "Back to the console" } }
    };
    let mut res = bare("Form expired", body);
    *res.status_mut() = StatusCode::FORBIDDEN;
    res
}

pub fn failure() -> Response {
    let mut res = bare(
        "Error",
        html! { h1 { "Something went wrong" } p { "The server failed; try again." } },
    );
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res
}

/// The page for an API refusal on a page load: the API's message and code.
pub fn api_failure(ctx: &Ctx, e: &ApiFailure) -> Response {
    if e.is_unauthenticated() {
        return to_sign_in(Some(ctx.org()));
    }
    let body = html! {
        (alert(e))
        p { a href="/console/zones" { "Back to your zones" } }
    };
    let mut res = page(ctx, "Not available", &Place::default(), body);
    *res.status_mut() = if e.status.is_client_error() {
        e.status
    } else {
        StatusCode::BAD_GATEWAY
    };
    res
}

/// The API's message and code, as an alert.
pub fn alert(e: &ApiFailure) -> Markup {
    html! { div.error role="alert" { (e.message) " " span.code { "(" (e.code) ")" } } }
}

/// A notice carried over a redirect.
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { div.notice role="status" { (t) } } }
}

/// The hidden CSRF field.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.session.csrf); }
}

/// A JSON value as short display text.
pub fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_owned(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| show(Some(x)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The `items` of a list response (either envelope family), or none.
pub fn items(list: &Value) -> Vec<Value> {
    list.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A `path.to.field` look-up in a JSON object.
pub fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// A list page's pager from the API's envelope (either family).
pub fn pager(base: &str, keep: &[(&str, &str)], list: &Value) -> Markup {
    let link = |key: &str, c: &str| {
        let mut params: Vec<(&str, &str)> = keep.to_vec();
        params.push((key, c));
        with_query(base, &params)
    };
    html! {
        nav.pager aria-label="Pages" {
            @if let Some(c) = cursor(list, false) { a rel="prev" href=(link("before", &c)) { "← Previous" } }
            @if let Some(c) = cursor(list, true) { a rel="next" href=(link("after", &c)) { "Next →" } }
        }
    }
}

/// A table of `items` with `(heading, field path)` columns; the first column links to `href(item)`.
pub fn table(
    items: &[Value],
    columns: &[(&str, &str)],
    href: impl Fn(&Value) -> Option<String>,
) -> Markup {
    html! {
        table {
            thead { tr { @for (h, _) in columns { th scope="col" { (h) } } } }
            tbody {
                @for item in items {
                    tr {
                        @for (i, (_, path)) in columns.iter().enumerate() {
                            @let text = show(field(item, path));
                            td {
                                @if i == 0 { @if let Some(h) = href(item) { a href=(h) { (text) } } @else { (text) } }
                                @else { (text) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What to show when a list is empty: what it is for and what to do next.
pub fn empty(what: &str, next: &str) -> Markup {
    html! { div.empty { p { strong { "No " (what) " yet." } } p { (next) } } }
}

/// Under a short list inside an object's page (the newest of a longer one): that there is more.
pub fn more_in_api(list: &Value, shown: &str) -> Markup {
    if cursor(list, true).is_none() {
        return html! {};
    }
    html! { p.hint.more { "Showing the " (shown) " only; the API and the CLI list the older ones." } }
}

/// A list's search form (the API's `query`), sent to the list page itself.
pub fn search(base: &str, what: &str, query: &str) -> Markup {
    html! {
        form.toolbar method="get" action=(base) role="search" {
            div { label for="query" { "Search " (what) } input #query type="search" name="query" value=(query); }
            button.secondary type="submit" { "Search" }
        }
    }
}

/// What an empty list says: what to do next, or that nothing matched the search.
pub fn empty_or_no_match(what: &str, next: &str, query: &str) -> Markup {
    if query.is_empty() {
        return empty(what, next);
    }
    html! { div.empty { p { "Nothing matches “" (query) "”." } } }
}

/// A delete button (its own form, confirmed by the console script when scripts run).
pub fn delete_button(ctx: &Ctx, action: &str, what: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm={"Delete " (what) "? This cannot be undone."} {
            (csrf_field(ctx))
            button.danger type="submit" { "Delete " (what) }
        }
    }
}

/// Raw markup (for the pre-escaped SVG charts).
pub fn raw(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}
