//! The device authorization grant's HTTP side (RFC 8628): `POST {issuer}/oauth/2/device_authorization`
//! (form in, JSON out, RFC 6749 errors), and the verification page `GET/POST {issuer}/device`:
//! code entry (wrong codes throttled per source address), sign-in through the zone's own
//! sign-in page when the browser has no web session (the pending request returns here), then
//! the confirmation form with a CSRF token bound to the web session and the code. The protocol
//! is `latchkey_oauth::device`; the redemption happens at the token endpoint.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::model::identity::Session;
use latchkey_oauth::device as grant;
use latchkey_oauth::device_codes::UserCode;
use latchkey_oauth::device_verification::{self as protocol, CodeProblem, PendingDevice};
use latchkey_oauth::requests::DeviceAuthorizationRequest;

use super::browser::{self, failed};
use super::cache::ZoneEntry;
use super::device_pages::{self as view, Confirm};
use super::error::ZoneError;
use super::pages;
use super::token::{authorization as auth_header, no_store};
use crate::extract::{QueryMap, client_ip};
use crate::state::AppState;

/// `POST {issuer}/oauth/2/device_authorization`
pub async fn authorization(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let mut request = DeviceAuthorizationRequest::parse(&body)?;
    request.client.authorization(auth_header(&headers));
    if let Some(id) = request.client.client_id.as_deref() {
        latchkey_oauth::cimd::resolve(&s, &zone, id, client_ip(&ext)).await?;
    }
    let started = grant::start(&s, &zone, request).await?;
    Ok(no_store(started))
}

/// `GET {issuer}/device[?user_code=…]`
pub async fn page(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    ext: Extensions,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let Some(input) = q.get("user_code").filter(|c| !c.trim().is_empty()) else {
        return entry(&zone);
    };
    let device = match find(&s, &zone, input, client_ip(&ext)).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    match signed_in(&s, &zone, &headers).await {
        Some((_, secret)) => confirm(&s, &zone, &device, &secret),
        None => sign_in(&s, &zone, &device).await,
    }
}

/// `POST {issuer}/device`: Approve or Deny, with the confirmation form's CSRF token.
pub async fn decide(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let form = QueryMap::parse(std::str::from_utf8(&body).unwrap_or_default());
    let input = form.get("user_code").unwrap_or_default();
    let Some(code) = UserCode::parse(input) else {
        return entry_with(
            &zone,
            refusal(CodeProblem::Unknown),
            StatusCode::BAD_REQUEST,
        );
    };
    let Some((session, secret)) = signed_in(&s, &zone, &headers).await else {
        return browser::redirect(&grant::verification_uri(&zone, Some(&code)));
    };
    let expected = protocol::csrf_token(&s, &secret, &code);
    if !form
        .get("csrf")
        .is_some_and(|c| browser::same_secret(c, &expected))
    {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The form has expired or was not sent from this page. Go back and try again.",
        );
    }
    let device = match find(&s, &zone, input, client_ip(&ext)).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let approve = form.get("decision") == Some("approve");
    match protocol::decide(&s, &zone, &device, &session, approve).await {
        Ok(true) => view::done(approve, &device.client.name),
        Ok(false) => entry_with(&zone, refusal(CodeProblem::Used), StatusCode::BAD_REQUEST),
        Err(e) if e.error == "access_denied" => pages::error(
            StatusCode::FORBIDDEN,
            "The zone's policies do not allow you to give this device that access.",
        ),
        Err(_) => failed(),
    }
}

/// The pending authorization behind `input`, or the page to answer: the entry form with the
/// reason (a wrong code counts against the address), or 429 once the address spent its budget.
async fn find(
    s: &AppState,
    zone: &ZoneEntry,
    input: &str,
    ip: IpAddr,
) -> Result<PendingDevice, Response> {
    if let Some(wait) = s.throttle.lookups_locked(ip).await {
        return Err(pages::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong codes. Wait a minute, then try again.",
            wait,
        ));
    }
    match protocol::pending(s, zone, input).await {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(problem)) => {
            if problem == CodeProblem::Unknown {
                s.throttle.lookup_missed(ip).await;
            }
            Err(entry_with(zone, refusal(problem), StatusCode::BAD_REQUEST))
        }
        Err(_) => Err(failed()),
    }
}

/// The browser's web session in the zone with its cookie secret (the CSRF token's key).
async fn signed_in(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
) -> Option<(Session, String)> {
    let secret = browser::cookie(headers, &browser::session_cookie(zone))?;
    let session = latchkey_oauth::login::web_session(s, zone, &secret).await?;
    Some((session, secret))
}

/// Sends a browser without a web session to the zone's sign-in page, which returns here.
async fn sign_in(s: &AppState, zone: &ZoneEntry, device: &PendingDevice) -> Response {
    let request = protocol::sign_in_request(zone, device);
    match latchkey_oauth::authorize::save(s, zone, &request).await {
        Ok((id, _csrf)) => browser::redirect(&browser::with_query(
            &zone.url("/login"),
            &[("request", &id)],
        )),
        Err(_) => failed(),
    }
}

/// The confirmation page for a signed-in browser.
fn confirm(s: &AppState, zone: &ZoneEntry, device: &PendingDevice, secret: &str) -> Response {
    let scopes: Vec<String> = device
        .record
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    view::confirm(&Confirm {
        zone_name: &zone.zone.name,
        client_name: &device.client.name,
        user_code: &device.code.display(),
        scopes: &scopes,
        resources: &device.record.resources,
        action: &grant::verification_uri(zone, None),
        csrf: &protocol::csrf_token(s, secret, &device.code),
    })
}

/// The code entry form.
fn entry(zone: &ZoneEntry) -> Response {
    view::entry(
        &zone.zone.name,
        &grant::verification_uri(zone, None),
        None,
        StatusCode::OK,
    )
}

/// The code entry form with why the last code was refused.
fn entry_with(zone: &ZoneEntry, error: &str, status: StatusCode) -> Response {
    view::entry(
        &zone.zone.name,
        &grant::verification_uri(zone, None),
        Some(error),
        status,
    )
}

/// What the page says about a code it cannot use.
fn refusal(problem: CodeProblem) -> &'static str {
    match problem {
        CodeProblem::Unknown => {
            "That code is not valid. Check the code shown on your device and try again."
        }
        CodeProblem::Expired => "That code has expired. Start again on your device.",
        CodeProblem::Used => {
            "That code was already used. Start again on your device if it is not signed in."
        }
    }
}
