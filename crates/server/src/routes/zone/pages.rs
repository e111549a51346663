//! Server-rendered login, consent and error pages: plain HTML and CSS, no scripts, accessible
//! (labels, landmarks, focus styles), every dynamic value HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub use crate::html::esc;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:24rem;margin:8vh auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:2rem}\
h1{font-size:1.35rem;margin:0 0 .25rem}p.sub{color:#5b6475;margin:0 0 1.5rem}\
label{display:block;font-weight:600;margin:.75rem 0 .25rem}\
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.6rem .7rem;border:1px solid #c7ccd6;border-radius:8px;font-size:1rem}\
button,.button{display:block;width:100%;box-sizing:border-box;margin-top:1.25rem;padding:.7rem;border:0;border-radius:8px;background:#2f5bea;color:#fff;font-size:1rem;font-weight:600;text-align:center;text-decoration:none;cursor:pointer}\
button.secondary{background:#e8ebf1;color:#1d2330}\
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}\
.error{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem}\
p.code{font:600 1.6rem ui-monospace,monospace;letter-spacing:.15em;text-align:center;margin:1rem 0}\
ul.scopes{padding-left:1.2rem}hr{border:0;border-top:1px solid #e3e6ec;margin:1.5rem 0}\
footer{color:#5b6475;font-size:.8rem;text-align:center;margin-top:1.5rem}";

/// A full page with security headers (no framing, no caching, no referrer).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}<footer>Secured by Latchkey</footer></main></body></html>",
        esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' *; frame-ancestors 'none'"),
    );
    res
}

/// An error page for requests that cannot be redirected back to the client.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Something went wrong</h1><p class=\"sub\">This sign-in request cannot continue.</p><div class=\"error\" role=\"alert\">{}</div>",
        esc(message)
    );
    page(status, "Sign-in error", &body)
}

/// A refusal to try again later: an error page with `Retry-After`.
pub fn retry_later(status: StatusCode, message: &str, seconds: u64) -> Response {
    let mut res = error(status, message);
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The sign-out confirmation: a form posting back with its CSRF token and, for a relying party's
/// request, its parameters (checked again on the POST). `client` names the asking application.
pub fn logout(
    zone_name: &str,
    client: Option<&str>,
    action: &str,
    csrf: &str,
    carried: &[(&str, &str)],
) -> Response {
    let asks = client.map_or_else(String::new, |c| {
        format!("<strong>{}</strong> asks you to sign out. ", esc(c))
    });
    let hidden: String = carried
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let body = format!(
        "<h1>Sign out?</h1><p class=\"sub\">{asks}You will be signed out of {} and of the applications you used through it.</p>\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{hidden}\
         <button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
        esc(zone_name),
        esc(action),
        esc(csrf)
    );
    page(StatusCode::OK, "Sign out", &body)
}

/// The page after signing out, when no client asked to get the browser back.
pub fn signed_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<h1>You are signed out</h1><p class=\"sub\">You can close this window.</p>",
    )
}

/// What the sign-in page offers.
pub struct LoginPage<'a> {
    pub zone_name: &'a str,
    pub client_name: &'a str,
    pub action: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
    pub email: &'a str,
    /// `(href, provider name)` of the upstream sign-in, when the zone has one.
    pub upstream: Option<(String, &'a str)>,
    pub passwords: bool,
    pub signup: bool,
}

pub fn login(p: &LoginPage<'_>) -> Response {
    let mut body = format!(
        "<h1>Sign in to {}</h1><p class=\"sub\">to continue to <strong>{}</strong></p>",
        esc(p.zone_name),
        esc(p.client_name)
    );
    if let Some(e) = p.error {
        body.push_str(&format!(
            "<div class=\"error\" role=\"alert\">{}</div>",
            esc(e)
        ));
    }
    if let Some((href, name)) = &p.upstream {
        body.push_str(&format!(
            "<a class=\"button\" id=\"upstream\" href=\"{}\">Continue with {}</a>",
            esc(href),
            esc(name)
        ));
        if p.passwords {
            body.push_str("<hr>");
        }
    }
    if p.passwords {
        let hidden = format!(
            "<input type=\"hidden\" name=\"request\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(p.request_id),
            esc(p.csrf)
        );
        body.push_str(&format!(
            "<form method=\"post\" action=\"{}\">{hidden}\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{}\">\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required minlength=\"8\">\
             <button type=\"submit\" name=\"intent\" value=\"signin\">Sign in</button>",
            esc(p.action),
            esc(p.email)
        ));
        if p.signup {
            body.push_str("<button type=\"submit\" class=\"secondary\" name=\"intent\" value=\"signup\">Create account</button>");
        }
        body.push_str("</form>");
    }
    page(StatusCode::OK, "Sign in", &body)
}

/// The consent page: which client wants what.
pub fn consent(
    zone_name: &str,
    client_name: &str,
    action: &str,
    request_id: &str,
    csrf: &str,
    scopes: &[String],
    resources: &[String],
) -> Response {
    let items: String = scopes
        .iter()
        .chain(resources.iter())
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    let list = if items.is_empty() {
        "<p>Access to your account in this zone.</p>".to_owned()
    } else {
        format!("<ul class=\"scopes\">{items}</ul>")
    };
    let body = format!(
        "<h1>Allow access?</h1><p class=\"sub\"><strong>{}</strong> wants to act for you in {}:</p>{list}\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"request\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button type=\"submit\" class=\"secondary\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
        esc(client_name),
        esc(zone_name),
        esc(action),
        esc(request_id),
        esc(csrf)
    );
    page(StatusCode::OK, "Allow access", &body)
}

/// A page that only tells something: a heading and a paragraph.
pub fn notice(status: StatusCode, title: &str, heading: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"sub\">{}</p>",
        esc(heading),
        esc(message)
    );
    page(status, title, &body)
}

/// What the invitation page shows: who invites whom to which organization, with which role.
pub struct InvitationPage<'a> {
    pub organization: &'a str,
    pub inviter: &'a str,
    pub role: &'a str,
    pub email: &'a str,
    pub expires_at: &'a str,
    pub token: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

/// The invitation page: the invitation, and a form that creates the account of the invited
/// address. The form posts to the page's own address, relative, so that it stays on the host
/// the link was opened at (path or host zone addressing alike).
pub fn invitation(p: &InvitationPage<'_>) -> Response {
    let mut body = format!(
        "<h1>Join {}</h1><p class=\"sub\"><strong>{}</strong> invited <strong id=\"invited-email\">{}</strong> as <strong id=\"invited-role\">{}</strong>. The invitation expires on {}.</p>",
        esc(p.organization),
        esc(p.inviter),
        esc(p.email),
        esc(p.role),
        esc(p.expires_at)
    );
    if let Some(e) = p.error {
        body.push_str(&format!(
            "<div class=\"error\" role=\"alert\">{}</div>",
            esc(e)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"invitation\"><input type=\"hidden\" name=\"token\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"email\">Email</label><input id=\"email\" type=\"email\" autocomplete=\"username\" value=\"{}\" readonly>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"8\">\
         <label for=\"confirm\">Confirm password</label><input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required minlength=\"8\">\
         <button type=\"submit\" id=\"create-account\">Create account</button></form>",
        esc(p.token),
        esc(p.csrf),
        esc(p.email)
    ));
    page(StatusCode::OK, "Invitation", &body)
}

/// After the account was created from an invitation.
pub fn invitation_done(organization: &str, email: &str) -> Response {
    let body = format!(
        "<h1>Your account is ready</h1><p class=\"sub\">You joined {} as <strong>{}</strong>.</p>\
         <p>Sign in with the console or with <code>latchkey login</code>.</p>",
        esc(organization),
        esc(email)
    );
    page(StatusCode::OK, "Account ready", &body)
}
