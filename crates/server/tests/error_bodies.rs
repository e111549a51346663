//! Every error answers JSON, including the ones axum and tower produce before a handler runs:
//! `{message, code, status}` on the management API, RFC 6749 `{error, error_description}` under a
//! zone. Each test is a request that used to get a plain-text (or empty) body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // integration tests

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{ADMIN_KEY, Reply, TestApp};

fn management_error(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.json);
    assert_eq!(r.json["status"], status.as_u16(), "{}", r.json);
    assert!(
        r.json["code"].is_string() && r.json["message"].is_string(),
        "not a {{message, code, status}} body: {}",
        r.json
    );
}

fn oauth_error(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.json);
    assert!(
        r.json["error"].is_string() && r.json["error_description"].is_string(),
        "not an RFC 6749 body: {}",
        r.json
    );
    assert_eq!(r.headers["cache-control"], "no-store");
}

async fn get(app: &TestApp, path: &str) -> Reply {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .body(Body::empty())
        .unwrap();
    app.raw(req).await
}

#[tokio::test]
async fn undecodable_paths_answer_json() {
    let app = TestApp::new().await;
    // %FF is not UTF-8: axum's path extractor used to answer in plain text
    management_error(&get(&app, "/zones/%FF%FE").await, StatusCode::BAD_REQUEST);
    management_error(
        &get(&app, "/organizations/%C0%AF").await,
        StatusCode::BAD_REQUEST,
    );
    let zone = app.zone("edge").await;
    oauth_error(
        &get(&app, &format!("/z/{zone}%FF/openidconnect/jwks")).await,
        StatusCode::BAD_REQUEST,
    );
}

#[tokio::test]
async fn zone_bodies_over_the_limit_answer_oauth_413() {
    let app = TestApp::new().await;
    let zone = app.zone("edge").await;
    let big = format!("grant_type=client_credentials&x={}", "a".repeat(2 << 20));
    let req = Request::post(format!("/z/{zone}/oauth/2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(big))
        .unwrap();
    let r = app.raw(req).await;
    oauth_error(&r, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers["connection"], "close");
}

#[tokio::test]
async fn too_many_or_too_large_headers_answer_431_json() {
    let app = TestApp::new().await;
    let mut req = Request::get("/zones").header("authorization", format!("Bearer {ADMIN_KEY}"));
    for i in 0..120 {
        req = req.header(format!("x-filler-{i}"), "1");
    }
    let r = app.raw(req.body(Body::empty()).unwrap()).await;
    management_error(&r, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let zone = app.zone("edge").await;
    let req = Request::get(format!("/z/{zone}/openidconnect/jwks"))
        .header("cookie", "a".repeat(40 * 1024))
        .body(Body::empty())
        .unwrap();
    oauth_error(
        &app.raw(req).await,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    );
}

#[tokio::test]
async fn zone_fallbacks_answer_oauth_json() {
    let app = TestApp::new().await;
    let zone = app.zone("edge").await;
    oauth_error(
        &get(&app, &format!("/z/{zone}/oauth/2/nothing-here")).await,
        StatusCode::NOT_FOUND,
    );
    let r = get(&app, &format!("/z/{zone}/oauth/2/token")).await;
    oauth_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        r.headers.contains_key("allow"),
        "405 without Allow: {:?}",
        r.headers
    );
    management_error(&get(&app, "/no-such-route").await, StatusCode::NOT_FOUND);
    let r = app.call(Method::DELETE, "/healthz", None, None).await;
    management_error(&r, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn zone_forms_that_are_not_forms_answer_oauth_json() {
    let app = TestApp::new().await;
    let zone = app.zone("edge").await;
    let req = Request::post(format!("/z/{zone}/oauth/2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(vec![0xff, 0xfe, b'=', 0x80]))
        .unwrap();
    oauth_error(&app.raw(req).await, StatusCode::BAD_REQUEST);
}

/// A body that never finishes answers 408 JSON once the request timeout passes.
#[tokio::test]
async fn a_body_that_never_arrives_answers_408_json() {
    let app = TestApp::new().await;
    let state_router = latchkey_server::routes::app_with(
        latchkey_server::prepare(
            &test_config(&app),
            app.store.clone(),
            "http://lk.test".into(),
        )
        .await
        .unwrap(),
        Duration::from_millis(300),
    );
    let (tx, body) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    tx.send(Ok(axum::body::Bytes::from_static(b"{\"name\":")))
        .await
        .unwrap();
    let stream = stream_of(body);
    let req = Request::post("/zones")
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    let res = tower::ServiceExt::oneshot(state_router, req).await.unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["status"], 408, "{json}");
    drop(tx);
}

fn test_config(app: &TestApp) -> latchkey_server::config::ServeConfig {
    latchkey_server::config::ServeConfig {
        log: Default::default(),
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        bootstrap_api_key: Some(ADMIN_KEY.into()),
        key: Default::default(),
        zone_domain: None,
        allow_private_fetch: Some(true),
        metrics: false,
        metrics_token_file: None,
        key_rotation_days: 0,
        key_rotation_period_secs: None,
        decision_retention_days: 30,
        audit_retention_days: 365,
        max_connections: 64,
        header_read_timeout_ms: 10_000,
        request_timeout_ms: 300,
        device_code_lifetime_secs: 600,
        device_poll_interval_secs: 5,
        smtp: Default::default(),
        storage: latchkey_server::config::StorageConfig {
            database_url: None,
            data_dir: app.dir.path().to_path_buf(),
        },
    }
}

/// A stream of the channel's items (the body's chunks), open while the sender lives.
fn stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
