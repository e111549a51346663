//! A zone's overview: tokens issued and denied per hour over the last three days, and the
//! busiest applications and resources, drawn as inline SVG from the decision log (every policy
//! decision at a token issuance, tallied by the server), plus counts of what the zone holds.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use latchkey_domain::time::Timestamp;
use maud::html;
use serde_json::Value;

use super::ConsoleState;
use super::api::{seg, with_query};
use super::directory::zone_name;
use super::layout::{self, Place, show, zone_href};
use super::session::Ctx;
use crate::html::esc;

const HOURS: i64 = 72;
const HOUR_MS: i64 = 3_600_000;
/// At most this many decision pages are read for the charts.
const MAX_PAGES: usize = 20;

pub fn router() -> Router<ConsoleState> {
    Router::new().route("/console/zones/{zone}", get(overview))
}

#[derive(serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// Decisions tallied per hour and per principal and resource.
#[derive(Default)]
pub struct Tally {
    /// hour index (0 = oldest) → (allowed, denied)
    pub hours: BTreeMap<i64, (i64, i64)>,
    pub principals: BTreeMap<String, i64>,
    pub resources: BTreeMap<String, i64>,
}

impl Tally {
    /// Counts one decision row (`evaluations` times) at its `last_at`.
    pub fn add(&mut self, row: &Value, start_ms: i64) {
        let n = row.get("evaluations").and_then(Value::as_i64).unwrap_or(1);
        let at = row
            .get("last_at")
            .or(row.get("created_at"))
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339)
            .map_or(start_ms, Timestamp::millis);
        let hour = ((at - start_ms) / HOUR_MS).clamp(0, HOURS - 1);
        let slot = self.hours.entry(hour).or_default();
        if row.get("decision").and_then(Value::as_str) == Some("allow") {
            slot.0 += n;
        } else {
            slot.1 += n;
        }
        *self
            .principals
            .entry(show(row.get("principal_id")))
            .or_default() += n;
        *self
            .resources
            .entry(show(row.get("resource_id")))
            .or_default() += n;
    }
}

async fn overview(ctx: Ctx, Path(zone): Path<String>, Query(q): Query<NoticeQuery>) -> Response {
    let (zid, name) = match zone_name(&ctx, &zone).await {
        Ok(z) => z,
        Err(e) => return layout::api_failure(&ctx, &e),
    };
    let now = Timestamp::now().millis();
    let start = now - (HOURS - 1) * HOUR_MS - now % HOUR_MS;
    let tally = tally(&ctx, &zone, start).await;
    let counts = counts(&ctx, &zone).await;
    let names = super::decisions::names(&ctx, &zone).await;
    let named = |counts: &BTreeMap<String, i64>| -> Vec<(String, i64)> {
        top(counts)
            .into_iter()
            .map(|(id, n)| (names.get(&id).cloned().unwrap_or(id), n))
            .collect()
    };
    let body = html! {
        (layout::notice(q.notice.as_deref()))
        dl.props {
            @for (label, n) in &counts { dt { (label) } dd { (n) } }
        }
        h2 { "Token requests, last three days" }
        @if tally.hours.is_empty() {
            (layout::empty("decisions", "Charts appear once applications ask this zone for tokens."))
        } @else {
            div.charts {
                figure.wide { figcaption { "Issued and denied per hour" } (layout::raw(hours_chart(&tally))) }
                figure { figcaption { "Busiest applications" } (layout::raw(bars(&named(&tally.principals), "#2447c9"))) }
                figure { figcaption { "Busiest resources" } (layout::raw(bars(&named(&tally.resources), "#1d6b3a"))) }
            }
        }
        p { a href=(zone_href(&zone, "decisions")) { "Open the decision log" } }
    };
    layout::page(
        &ctx,
        &name,
        &Place {
            zone: Some((&zid, &name)),
            tab: "",
        },
        body,
    )
}

async fn tally(ctx: &Ctx, zone: &str, start: i64) -> Tally {
    let mut tally = Tally::default();
    let since = Timestamp::from_millis(start).to_rfc3339();
    let mut after = String::new();
    for _ in 0..MAX_PAGES {
        let path = with_query(
            &format!("/zones/{}/policy-decisions", seg(zone)),
            &[
                ("limit", "100"),
                ("filter[since]", &since),
                ("after", &after),
            ],
        );
        let Ok(page) = ctx.api.get(&ctx.call(), &path).await else {
            break;
        };
        for row in page
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            tally.add(row, start);
        }
        match layout::field(&page, "pagination.after_cursor").and_then(Value::as_str) {
            Some(c) => after = c.to_owned(),
            None => break,
        }
    }
    tally
}

/// How many applications, resources, users and policies the zone has.
async fn counts(ctx: &Ctx, zone: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (label, path) in [
        ("Applications", "applications"),
        ("Resources", "resources"),
        ("Users", "users"),
        ("Policies", "policies"),
    ] {
        let n = ctx
            .api
            .get(
                &ctx.call(),
                &format!("/zones/{}/{path}?limit=1&expand[]=total_count", seg(zone)),
            )
            .await
            .ok()
            .and_then(|l| layout::field(&l, "pagination.total_count").map(|v| show(Some(v))))
            .unwrap_or_else(|| "—".to_owned());
        out.push((label, n));
    }
    out
}

/// The five largest counts, largest first.
fn top(counts: &BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(5);
    v
}

/// Stacked columns per hour: allowed (blue) over denied (red), with a text summary for screen
/// readers.
pub fn hours_chart(t: &Tally) -> String {
    let (w, h) = (720.0_f64, 160.0_f64);
    let max = t
        .hours
        .values()
        .map(|(a, d)| a + d)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let col = w / HOURS as f64;
    let (allowed, denied): (i64, i64) = t
        .hours
        .values()
        .fold((0, 0), |acc, (a, d)| (acc.0 + a, acc.1 + d));
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{allowed} tokens issued and {denied} denied in the last {HOURS} hours\" width=\"100%\">",
        h + 20.0
    );
    for (hour, (a, d)) in &t.hours {
        let x = *hour as f64 * col;
        let ha = *a as f64 / max * h;
        let hd = *d as f64 / max * h;
        svg.push_str(&format!("<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{ha:.1}\" fill=\"#2447c9\"><title>{a} issued</title></rect>", h - ha, col * 0.8));
        svg.push_str(&format!("<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hd:.1}\" fill=\"#a3202a\"><title>{d} denied</title></rect>", h - ha - hd, col * 0.8));
    }
    svg.push_str(&format!("<line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#4f5868\"/><text x=\"0\" y=\"{}\" font-size=\"11\" fill=\"#4f5868\">{HOURS} h ago</text><text x=\"{w}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#4f5868\">now · issued {allowed} · denied {denied}</text></svg>", h + 15.0, h + 15.0));
    svg
}

/// Horizontal bars with their labels and counts.
pub fn bars(rows: &[(String, i64)], colour: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let row_h = 26.0;
    let mut svg = format!(
        "<svg viewBox=\"0 0 360 {}\" role=\"img\" aria-label=\"{}\" width=\"100%\">",
        rows.len() as f64 * row_h + 4.0,
        esc(&rows
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", "))
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        // (label in 0–150, bar in 160–310, the count after it: nothing overlaps or is cut off)
        let w = *n as f64 / max * 150.0;
        let short: String = if label.chars().count() > 20 {
            label.chars().take(19).chain(['…']).collect()
        } else {
            label.clone()
        };
        svg.push_str(&format!("<text x=\"0\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2330\"><title>{}</title>{}</text><rect x=\"160\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1d2330\">{n}</text>", y + 16.0, esc(label), esc(&short), y + 4.0, 165.0 + w, y + 16.0));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_by_hour_and_draws_escaped_labels() {
        let mut t = Tally::default();
        let start = 0;
        t.add(&serde_json::json!({"decision": "allow", "evaluations": 3, "last_at": "1970-01-01T01:30:00.000Z", "principal_id": "<app>", "resource_id": "r"}), start);
        t.add(&serde_json::json!({"decision": "deny", "evaluations": 2, "last_at": "1970-01-01T01:10:00.000Z", "principal_id": "<app>", "resource_id": "r"}), start);
        assert_eq!(t.hours.get(&1), Some(&(3, 2)));
        assert_eq!(t.principals.get("<app>"), Some(&5));
        let svg = bars(&top(&t.principals), "#000");
        assert!(svg.contains("&lt;app&gt;") && !svg.contains("<app>"));
        assert!(hours_chart(&t).contains("issued 3 · denied 2"));
    }
}
