//! `POST {issuer}/oauth/2/registration` (RFC 7591): admission (DCR enabled, per-address rate),
//! the typed document, and the 201 answer; the registration itself is
//! `latchkey_oauth::registration`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_oauth::registration::{self, Registration};

use super::error::ZoneError;
use super::token::no_store;
use crate::state::AppState;

pub async fn register(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: Extensions,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    registration::admit(&s, &zone, crate::extract::client_ip(&ext))?;
    let request = Registration::parse(&body)?;
    let answer = registration::register(&s, &zone, request).await?;
    Ok((StatusCode::CREATED, no_store(answer)).into_response())
}
