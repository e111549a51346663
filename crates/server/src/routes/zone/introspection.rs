//! `POST {issuer}/oauth/2/introspect` and `/revoke`: the typed request (body + `Authorization`),
//! then `latchkey_oauth::introspection`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use latchkey_oauth::introspection;

use super::error::ZoneError;
use super::requests::TokenQuery;
use super::token::{authorization, no_store};
use crate::state::AppState;

fn query(headers: &HeaderMap, body: &[u8]) -> Result<TokenQuery, ZoneError> {
    let mut request = TokenQuery::parse(body)?;
    request.client.authorization(authorization(headers));
    Ok(request)
}

pub async fn introspect(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let request = query(&headers, &body)?;
    Ok(no_store(
        introspection::introspect(&s, &zone, &request).await?,
    ))
}

pub async fn revoke(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let request = query(&headers, &body)?;
    introspection::revoke(&s, &zone, &request).await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
