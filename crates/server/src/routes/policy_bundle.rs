//! `GET/PUT/DELETE /policy/bundle`: the calling user's policy bundle as tar+gzip (the codec's
//! media type, or `application/octet-stream` when that is what the client accepts), its digest as
//! the quoted `ETag`, `If-None-Match` → 304, `If-Match` → 412. The bearer is a zone-issued user
//! access token, never a management key.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_policy::bundle::{Bundle, MEDIA_TYPE, etag_matches};
use latchkey_policy::tarball;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::auth::bearer_token;
use crate::service::policy_bundle as svc;
use crate::service::policy_bundle_write::Caller;
use crate::state::AppState;

const OCTET_STREAM: &str = "application/octet-stream";

pub fn router() -> OpenApiRouter<AppState> {
    let cap = usize::try_from(tarball::MAX_DECOMPRESSED).unwrap_or(usize::MAX);
    OpenApiRouter::new()
        .routes(routes!(retrieve, update, reset))
        .layer(DefaultBodyLimit::max(cap))
}

async fn caller(state: &AppState, headers: &HeaderMap) -> ApiResult<Caller> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    svc::caller(state, token).await
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The content type answered: octet-stream when the client asks for it and not for the codec's
/// own media type.
fn content_type(headers: &HeaderMap) -> &'static str {
    let accept = header_str(headers, header::ACCEPT).unwrap_or_default();
    if accept.contains(OCTET_STREAM) && !accept.contains(MEDIA_TYPE) {
        OCTET_STREAM
    } else {
        MEDIA_TYPE
    }
}

fn etag_header(bundle: &Bundle) -> ApiResult<HeaderValue> {
    let tag = bundle.etag().map_err(|_| ApiError::internal())?;
    HeaderValue::from_str(&tag).map_err(|_| ApiError::internal())
}

/// 200 with the archive and its ETag.
fn archive(bundle: &Bundle, headers: &HeaderMap) -> ApiResult<Response> {
    let bytes = tarball::encode(bundle).map_err(|_| ApiError::internal())?;
    let mut res = (StatusCode::OK, Body::from(bytes)).into_response();
    let h = res.headers_mut();
    h.insert(header::ETAG, etag_header(bundle)?);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(headers)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The calling user's bundle (seeded from the zone's defaults on first access).
#[utoipa::path(get, path = "/policy/bundle", tag = "policy_bundle",
    params(("If-None-Match" = Option<String>, Header, description = "the ETag held; a match answers 304")),
    responses(
        (status = 200, description = "the bundle (tar+gzip), with its `ETag`", content_type = "application/vnd.keycard.policy-bundle.v1+tar+gzip", body = Vec<u8>),
        (status = 304, description = "the ETag matches"),
        (status = 401, body = ErrorBody)))]
async fn retrieve(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let caller = caller(&s, &headers).await?;
    let bundle = svc::get(&s, &caller).await?;
    if let Some(tag) = header_str(&headers, header::IF_NONE_MATCH) {
        let digest = bundle.digest().map_err(|_| ApiError::internal())?;
        if etag_matches(tag, &digest) {
            let mut res = StatusCode::NOT_MODIFIED.into_response();
            res.headers_mut()
                .insert(header::ETAG, etag_header(&bundle)?);
            return Ok(res);
        }
    }
    archive(&bundle, &headers)
}

/// Applies a bundle as the calling user's active policy set version.
#[utoipa::path(put, path = "/policy/bundle", tag = "policy_bundle",
    params(("If-Match" = Option<String>, Header, description = "the ETag the edit was made on; a mismatch answers 412")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the tar+gzip bundle (the SDK sends it as `application/octet-stream`; any content type is read)"),
    responses(
        (status = 200, description = "the new bundle (tar+gzip), with its `ETag`", content_type = "application/vnd.keycard.policy-bundle.v1+tar+gzip", body = Vec<u8>),
        (status = 400, description = "`bundle_invalid` or `invalid_cedar`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 412, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
async fn update(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let caller = caller(&s, &headers).await?;
    let if_match = header_str(&headers, header::IF_MATCH);
    let bundle = svc::put(&s, &caller, if_match, body).await?;
    archive(&bundle, &headers)
}

/// Archives the calling user's policy set (idempotent); the next GET seeds a new one.
#[utoipa::path(delete, path = "/policy/bundle", tag = "policy_bundle",
    responses((status = 204, description = "archived, or there was nothing to archive"), (status = 401, body = ErrorBody)))]
async fn reset(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let caller = caller(&s, &headers).await?;
    svc::reset(&s, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
