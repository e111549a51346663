//! In-process HTTP fixture: the real `Router` over a fresh SQLite store, called with `oneshot`.

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
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            bootstrap_api_key: Some(ADMIN_KEY.into()),
            master_key: None,
            storage: StorageConfig {
                database_url: None,
                data_dir: dir.path().to_path_buf(),
            },
        };
        let store = Arc::new(latchkey_server::open_store(&config.storage).await.unwrap());
        let state = latchkey_server::prepare(&config, store, "http://lk.test".into())
            .await
            .unwrap();
        Self {
            router: latchkey_server::routes::app(state),
            _dir: dir,
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
