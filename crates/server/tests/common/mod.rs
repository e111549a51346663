//! In-process HTTP fixture: the real `Router` over a fresh SQLite store, called with `oneshot`.

#![allow(dead_code)] // each test binary uses a different part of the shared fixtures

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use latchkey_server::config::{ServeConfig, StorageConfig};
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN_KEY: &str = "lk_test_admin_key_for_http_tests";

pub struct TestApp {
    pub router: Router,
    /// The store behind the router, for fixtures the API cannot create.
    pub store: Arc<dyn latchkey_domain::store::Store>,
    /// The server's state, for background jobs a test drives by hand.
    pub state: latchkey_server::state::AppState,
    pub dir: tempfile::TempDir,
    pg: Option<PgDrop>,
}

/// Drops a test database when the app goes away (also on failure).
struct PgDrop {
    admin: String,
    name: String,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(latchkey_store::admin::drop_database(&admin, &name))
                .unwrap();
        })
        .join();
    }
}

/// Defines `<name>::sqlite` and `<name>::postgres`, each running `$body(app)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                ($body)(TestApp::new().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                ($body)(TestApp::postgres().await).await;
            }
        }
    };
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl TestApp {
    /// A fresh app on an embedded SQLite database.
    pub async fn new() -> Self {
        Self::with_database(None).await
    }

    /// A fresh app on a new PostgreSQL database (dropped when the app is).
    pub async fn postgres() -> Self {
        let admin = std::env::var("LATCHKEY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("latchkey_http_{}", latchkey_crypto::random::id().unwrap());
        let url = latchkey_store::admin::create_database(&admin, &name)
            .await
            .unwrap();
        let mut app = Self::with_database(Some(url)).await;
        app.pg = Some(PgDrop { admin, name });
        app
    }

    pub fn is_sqlite(&self) -> bool {
        self.pg.is_none()
    }

    /// A fresh SQLite app in host mode: zones answer at `{zone_id}.{domain}`.
    pub async fn host_mode(domain: &str) -> Self {
        Self::build(None, Some(domain.to_owned())).await
    }

    async fn with_database(database_url: Option<String>) -> Self {
        Self::build(database_url, None).await
    }

    async fn build(database_url: Option<String>, zone_domain: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = ServeConfig {
            log: Default::default(),
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            bootstrap_api_key: Some(ADMIN_KEY.into()),
            key: Default::default(),
            zone_domain,
            allow_private_fetch: Some(true),
            metrics: false,
            metrics_token_file: None,
            key_rotation_days: 0,
            key_rotation_period_secs: None,
            decision_retention_days: 30,
            audit_retention_days: 365,
            max_connections: 64,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            device_code_lifetime_secs: 600,
            device_poll_interval_secs: 5,
            smtp: Default::default(),
            storage: StorageConfig {
                database_url,
                data_dir: dir.path().to_path_buf(),
            },
        };
        let store = Arc::new(latchkey_server::open_store(&config.storage).await.unwrap());
        let state = latchkey_server::prepare(&config, store, "http://lk.test".into())
            .await
            .unwrap();
        let store = state.store.clone();
        Self {
            router: latchkey_server::routes::app(state.clone()),
            store,
            state,
            dir,
            pg: None,
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.raw(req.body(body).unwrap()).await
    }

    pub async fn raw(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(ADMIN_KEY), body).await
    }
}

impl Reply {
    /// Asserts the status and, for errors, the `{message, code, status}` body.
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "body: {}", self.json);
        if status.is_client_error() {
            assert_eq!(self.json["status"], status.as_u16(), "{}", self.json);
            assert!(
                self.json["code"].is_string() && self.json["message"].is_string(),
                "{}",
                self.json
            );
        }
        self
    }

    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    /// Creates a zone and returns its id.
    pub async fn zone(&self, name: &str) -> String {
        let z = self
            .admin(
                Method::POST,
                "/zones",
                Some(serde_json::json!({"name": name})),
            )
            .await
            .expect(StatusCode::CREATED);
        z.json["id"].as_str().unwrap().to_owned()
    }

    /// POSTs `body` to `path` as admin, expects 201 and returns the new object's id.
    pub async fn create(&self, path: &str, body: Value) -> String {
        let r = self
            .admin(Method::POST, path, Some(body))
            .await
            .expect(StatusCode::CREATED);
        r.json["id"].as_str().unwrap().to_owned()
    }
}
