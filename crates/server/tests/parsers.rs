//! Property tests for the server's parsers of untrusted bytes: query strings and forms with
//! repeated and bracketed keys (`extract/query.rs`, the token endpoint's form), JSON bodies through
//! the extractor (`extract/json.rs`), and redirect-URI matching (`zone/browser.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use latchkey_oauth::browser::redirect_matches;
use latchkey_server::extract::{JsonBody, QueryMap};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---------------------------------------------------------------------------------------------
// Query strings and forms
// ---------------------------------------------------------------------------------------------

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("expand".to_owned()),
        Just("expand[]".to_owned()),
        Just("filter[id]".to_owned()),
        Just("after".to_owned()),
        Just("limit".to_owned()),
        Just("sort".to_owned()),
        "[a-z\\[\\]]{1,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Whatever the query string, parsing and every accessor answer (value or 400), never panic.
    #[test]
    fn arbitrary_queries_never_panic(q in any::<String>()) {
        let map = QueryMap::parse(&q);
        let expand = map.expand(&["total_count"]).unwrap_or_default();
        if let Ok(mut page) = map.page(&expand, &["name", "identifier"]) {
            let _ = map.ids(&mut page);
        }
        let _ = map.flag("enabled");
        let _ = map.any_terms();
        let _ = map.one_of("type", &["a", "b"]);
        let _ = map.exact("identifier");
    }

    /// Pairs serialized as a form come back in order; repeated keys keep every value, in order;
    /// bracketed keys mean the same percent-encoded or not.
    #[test]
    fn forms_round_trip(pairs in prop::collection::vec((key(), any::<String>()), 0..12)) {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        let map = QueryMap::parse(&encoded);
        for (k, _) in &pairs {
            let want: Vec<&str> = pairs.iter().filter(|(k2, _)| k2 == k).map(|(_, v)| v.as_str()).collect();
            prop_assert_eq!(map.all(k), want.clone());
            prop_assert_eq!(map.get(k), want.first().copied());
        }
        let raw_brackets = encoded.replace("%5B", "[").replace("%5D", "]");
        let again = QueryMap::parse(&raw_brackets);
        for (k, _) in &pairs {
            prop_assert_eq!(again.all(k), map.all(k));
        }
    }

    /// `expand` and `expand[]` are one parameter; unknown values are refused.
    #[test]
    fn expand_spellings_are_merged(a in any::<bool>(), b in any::<bool>()) {
        let mut parts = Vec::new();
        if a { parts.push("expand=total_count"); }
        if b { parts.push("expand%5B%5D=total_count"); }
        let map = QueryMap::parse(&parts.join("&"));
        let expand = map.expand(&["total_count"]).unwrap();
        prop_assert_eq!(expand.len(), usize::from(a || b));
        prop_assert!(QueryMap::parse("expand[]=nope").expand(&["total_count"]).is_err());
    }

    /// The token endpoint's form parser: any bytes answer a map or `invalid_request`.
    #[test]
    fn token_forms_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        match latchkey_oauth::requests::TokenQuery::parse(&body) {
            Ok(_) => prop_assert!(std::str::from_utf8(&body).is_ok()),
            Err(e) => prop_assert_eq!(e.error, "invalid_request"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON bodies
// ---------------------------------------------------------------------------------------------

const SMALL_LIMIT: usize = 256;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Shaped {
    name: String,
    count: Option<u32>,
}

fn json_app() -> Router {
    Router::new()
        .route(
            "/v",
            post(|JsonBody(v): JsonBody<Value>| async move { axum::Json(v) }),
        )
        .route(
            "/s",
            post(|JsonBody(s): JsonBody<Shaped>| async move { s.name }),
        )
        .layer(DefaultBodyLimit::max(SMALL_LIMIT))
}

async fn post_json(path: &str, ctype: Option<&str>, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::post(path);
    if let Some(ct) = ctype {
        req = req.header("content-type", ct);
    }
    let res = json_app()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/merge-patch+json".to_owned())),
        Just(Some("text/plain".to_owned())),
        any::<String>()
            .prop_filter("a header value", |s| {
                axum::http::HeaderValue::from_str(s).is_ok()
            })
            .prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Arbitrary bytes under any content type: 2xx, or a 400/413/415 with the
    /// `{message, code, status}` body; never a panic, never another status.
    #[test]
    fn arbitrary_json_bodies_answer_json(
        body in prop::collection::vec(any::<u8>(), 0..(2 * SMALL_LIMIT)),
        ctype in content_type(),
        shaped in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let path = if shaped { "/s" } else { "/v" };
        let (status, bytes) = rt.block_on(post_json(path, ctype.as_deref(), body.clone()));
        if status.is_success() {
            return Ok(());
        }
        prop_assert!(
            [400u16, 413, 415].contains(&status.as_u16()),
            "status {}", status
        );
        let err: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(err["status"].as_u64(), Some(u64::from(status.as_u16())));
        prop_assert!(err["code"].is_string() && err["message"].is_string(), "{}", err);
        if body.len() > SMALL_LIMIT {
            prop_assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        }
    }

    /// Well-formed JSON of the wrong shape names the field.
    #[test]
    fn wrong_shapes_name_the_field(count in any::<i64>().prop_filter("not a u32", |c| u32::try_from(*c).is_err())) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body = serde_json::json!({"name": "x", "count": count}).to_string().into_bytes();
        let (status, bytes) = rt.block_on(post_json("/s", Some("application/json"), body));
        prop_assert_eq!(status, StatusCode::BAD_REQUEST);
        let err: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(err["code"].as_str(), Some("invalid_field"));
        prop_assert!(err["message"].as_str().unwrap().contains("`count`"), "{}", err);
    }
}

// ---------------------------------------------------------------------------------------------
// Redirect URIs
// ---------------------------------------------------------------------------------------------

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,10}\\.(com|example|test)",
        "[a-z]{1,6}\\.[a-z]{1,6}\\.example",
        Just("127.0.0.1".to_owned()),
        Just("localhost".to_owned()),
        Just("[::1]".to_owned()),
        Just("127.0.0.1.evil.example".to_owned()),
        Just("localhost.evil.example".to_owned()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    "(/[a-z0-9._~-]{0,8}){1,3}"
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![Just(None), (1u16..).prop_map(Some)]
}

fn url(scheme: &str, host: &str, port: Option<u16>, path: &str) -> String {
    match port {
        Some(p) => format!("{scheme}://{host}:{p}{path}"),
        None => format!("{scheme}://{host}{path}"),
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The URL as a browser would go to it (scheme, host, path; port dropped).
fn target(u: &str) -> Option<(String, String, String)> {
    let u = url::Url::parse(u).ok()?;
    Some((
        u.scheme().to_owned(),
        u.host_str()?.to_owned(),
        u.path().to_owned(),
    ))
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn arbitrary_strings_never_panic(a in any::<String>(), b in any::<String>()) {
        let _ = redirect_matches(&a, &b);
        prop_assert!(redirect_matches(&a, &a));
    }

    /// A match never sends the browser to another scheme, host or path.
    #[test]
    fn a_match_never_changes_scheme_host_or_path(
        schemes in (prop_oneof![Just("http"), Just("https")], prop_oneof![Just("http"), Just("https")]),
        hosts in (host(), host()),
        ports in (port(), port()),
        paths in (path(), path()),
    ) {
        let registered = url(schemes.0, &hosts.0, ports.0, &paths.0);
        let requested = url(schemes.1, &hosts.1, ports.1, &paths.1);
        if redirect_matches(&registered, &requested) {
            prop_assert_eq!(target(&registered), target(&requested), "{} ~ {}", registered, requested);
            if registered != requested {
                // only the loopback rule relaxes the comparison, and only the port
                prop_assert!(schemes.0 == "http" && is_loopback(&hosts.0), "{} ~ {}", registered, requested);
            }
        }
    }

    /// A registered loopback `http` redirect accepts any port (RFC 8252 §7.3), nothing else.
    #[test]
    fn loopback_redirects_accept_any_port(
        host in prop_oneof![Just("127.0.0.1"), Just("localhost"), Just("[::1]")],
        registered_port in port(),
        requested_port in 1u16..,
        path in path(),
    ) {
        let registered = url("http", host, registered_port, &path);
        let same = url("http", host, Some(requested_port), &path);
        let https = url("https", host, Some(requested_port), &path);
        let longer = same.clone() + "x";
        prop_assert!(redirect_matches(&registered, &same), "{} !~ {}", registered, same);
        prop_assert!(!redirect_matches(&registered, &https));
        prop_assert!(!redirect_matches(&registered, &longer));
    }

    /// Outside loopback, a different port, an added query, fragment or user info never matches.
    #[test]
    fn other_redirects_match_exactly(
        host in "[a-z]{1,10}\\.example",
        p in 1u16..,
        path in path(),
        extra in prop_oneof![Just("?x=1"), Just("#f"), Just("/")],
    ) {
        let registered = format!("https://{host}{path}");
        let other_port = format!("https://{host}:{p}{path}");
        let extended = format!("{registered}{extra}");
        let with_user = format!("https://evil@{host}{path}");
        prop_assert!(!redirect_matches(&registered, &other_port) || p == 443);
        prop_assert!(!redirect_matches(&registered, &extended));
        prop_assert!(!redirect_matches(&registered, &with_user));
        let lo = format!("http://127.0.0.1{path}");
        let lo_user = format!("http://evil@127.0.0.1:{p}{path}");
        let lo_extended = format!("http://127.0.0.1:{p}{path}{extra}");
        prop_assert!(!redirect_matches(&lo, &lo_user));
        prop_assert!(!redirect_matches(&lo, &lo_extended));
    }
}
