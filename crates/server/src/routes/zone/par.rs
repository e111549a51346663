//! `POST {issuer}/oauth/2/par`: pushed authorization requests (RFC 9126), form in, 201 JSON out,
//! RFC 6749 errors. The protocol is `latchkey_oauth::par`; the authorization endpoint takes the
//! pushed request back by its `request_uri`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_oauth::requests::PushedRequest;

use super::error::ZoneError;
use super::token::{authorization, no_store};
use crate::extract::client_ip;
use crate::state::AppState;

pub async fn push(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let mut request = PushedRequest::parse(&body)?;
    request.client.authorization(authorization(&headers));
    if let Some(id) = request.client.client_id.as_deref() {
        latchkey_oauth::cimd::resolve(&s, &zone, id, client_ip(&ext)).await?;
    }
    let pushed = latchkey_oauth::par::push(&s, &zone, request).await?;
    let mut res = no_store(pushed);
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}
