//! Operational endpoints: `GET /healthz` (the process is alive; touches nothing), `GET /readyz`
//! (ready to serve: `ops::readiness`), both unauthenticated and never cached, `GET /metrics` (when
//! on) and the pre-serialized `GET /openapi.json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub fn router(openapi_json: String) -> Router<AppState> {
    let doc: Arc<str> = openapi_json.into();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/readyz", get(readyz))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"status": "ok"})),
    )
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let checks = crate::ops::readiness::check(&state).await;
    let (status, word) = if checks.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"status": word, "checks": checks})),
    )
}
