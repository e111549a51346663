//! `{issuer}/invitation?token=…` of an organization's platform zone: the page an invitation link
//! opens. It shows the invitation (no more than `GET /invitations/{token}` shows) and a form that
//! creates the invited address's account through the sign-up of the sign-in page
//! (`accounts::sign_up`, which checks and spends the invitation). Token look-ups are throttled
//! per source address like the API's; the form carries a double-submit CSRF token (a cookie
//! scoped to the zone, and the same value in a hidden field).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::model::organization::{Invitation, Organization};

use super::accounts::{self, Refusal};
use super::browser::{self, failed};
use super::cache::ZoneEntry;
use super::{pages, passwords};
use crate::extract::{QueryMap, client_ip};
use crate::service::invitations as svc;
use crate::state::AppState;

/// The account form stays valid this long.
const FORM_TTL_SECONDS: i64 = 30 * 60;

fn csrf_cookie(zone: &ZoneEntry) -> String {
    format!("lk_invite_{}", zone.zone.id)
}

fn unknown() -> Response {
    pages::notice(
        StatusCode::NOT_FOUND,
        "Invitation not found",
        "Invitation not found",
        "This invitation link is not valid. Check that you opened the whole link from your email.",
    )
}

fn gone(message: &str) -> Response {
    pages::notice(
        StatusCode::GONE,
        "Invitation unavailable",
        "This invitation cannot be used",
        message,
    )
}

/// The pending invitation behind `token` to this zone's organization, or the page to answer
/// instead. Unknown tokens count against the address's look-up budget.
async fn pending(
    s: &AppState,
    zone: &ZoneEntry,
    ext: &Extensions,
    token: &str,
) -> Result<(Invitation, Organization), Response> {
    let ip = client_ip(ext);
    if let Some(wait) = s.throttle.lookups_locked(ip).await {
        return Err(pages::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many invalid invitation links from this address. Wait a while, then try again.",
            wait,
        ));
    }
    let found = if token.is_empty() {
        None
    } else {
        match svc::by_token(s, token).await {
            Ok(found) => Some(found),
            Err(e) if e.status == StatusCode::NOT_FOUND => None,
            Err(_) => return Err(failed()),
        }
    };
    let Some((inv, org)) = found.filter(|(_, org)| org.zone_id == zone.zone.id) else {
        s.throttle.lookup_missed(ip).await;
        return Err(unknown());
    };
    match inv.effective_status(Timestamp::now()) {
        "pending" => Ok((inv, org)),
        "accepted" => Err(gone(
            "This invitation was already used. Sign in with the console or `latchkey login`.",
        )),
        "expired" => Err(gone("This invitation has expired. Ask for a new one.")),
        _ => Err(gone("This invitation was withdrawn. Ask for a new one.")),
    }
}

/// The invitation with its account form, and the form's CSRF cookie.
async fn form(
    s: &AppState,
    zone: &ZoneEntry,
    (inv, org): (&Invitation, &Organization),
    (token, csrf): (&str, &str),
    error: Option<&str>,
) -> Response {
    let inviter = svc::inviter_name(s, inv, org).await;
    let expires = inv.expires_at.to_rfc3339();
    let mut res = pages::invitation(&pages::InvitationPage {
        organization: &org.name,
        inviter: &inviter,
        role: &inv.role,
        email: &inv.email,
        expires_at: &expires,
        token,
        csrf,
        error,
    });
    browser::set_cookie(&mut res, zone, &csrf_cookie(zone), csrf, FORM_TTL_SECONDS);
    res
}

/// `GET {issuer}/invitation?token=…`
pub async fn show(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: Extensions,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let token = q.get("token").unwrap_or_default();
    let (inv, org) = match pending(&s, &zone, &ext, token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Ok(csrf) = latchkey_crypto::random::secret("") else {
        return failed();
    };
    form(&s, &zone, (&inv, &org), (token, &csrf), None).await
}

/// `POST {issuer}/invitation`: creates the invited account (password and its confirmation).
pub async fn submit(
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
    let fields = QueryMap::parse(std::str::from_utf8(&body).unwrap_or_default());
    let cookie = browser::cookie(&headers, &csrf_cookie(&zone));
    let csrf = match (fields.get("csrf"), cookie.as_deref()) {
        (Some(a), Some(b)) if !a.is_empty() && browser::same_secret(a, b) => a,
        _ => {
            return pages::notice(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form has expired",
                "The form has expired or was not sent from the invitation page. Open the invitation link again.",
            );
        }
    };
    let token = fields.get("token").unwrap_or_default();
    let (inv, org) = match pending(&s, &zone, &ext, token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = fields.get("password").unwrap_or_default();
    if fields.get("confirm") != Some(password) {
        let error = Some("The passwords do not match.");
        return form(&s, &zone, (&inv, &org), (token, csrf), error).await;
    }
    let hash = s.hasher.hash(token);
    match accounts::sign_up(&s, &zone, Some(&hash), &inv.email, password).await {
        Ok(_) => {
            let mut res = pages::invitation_done(&org.name, &inv.email);
            browser::set_cookie(&mut res, &zone, &csrf_cookie(&zone), "", 0);
            res
        }
        Err(Refusal::Message(message)) => {
            form(&s, &zone, (&inv, &org), (token, csrf), Some(message)).await
        }
        Err(Refusal::Throttled(wait)) => pages::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts. Wait a while, then try again.",
            wait,
        ),
        Err(Refusal::Busy) => pages::retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy signing other people in. Try again in a moment.",
            passwords::RETRY_AFTER_SECONDS,
        ),
    }
}
