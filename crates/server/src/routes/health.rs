//! Operational endpoints: `GET /healthz`, `GET /metrics` (when on) and the pre-serialized
//! `GET /openapi.json`.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub fn router(openapi_json: String) -> Router<AppState> {
    let doc: Arc<str> = openapi_json.into();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::scrape))
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
    axum::Json(serde_json::json!({"status": "ok"}))
}
