//! The device verification pages (RFC 8628 §3.3): the code entry form, the confirmation that
//! shows what the device asks for with Approve and Deny, and the outcome. Rendered like the
//! sign-in pages (`pages::page`: no scripts, CSP, no framing, no-store), every dynamic value
//! HTML-escaped; inputs and buttons have stable ids (`user_code`, `approve`, `deny`).

use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{esc, page};

/// The code entry form, with an error (and the status it is answered with) when the last code
/// was refused. The form reads the page again with `user_code` in the query.
pub fn entry(zone_name: &str, action: &str, error: Option<&str>, status: StatusCode) -> Response {
    let mut body = format!(
        "<h1>Connect a device</h1><p class=\"sub\">Enter the code shown on your device to sign it in to {}.</p>",
        esc(zone_name)
    );
    if let Some(e) = error {
        body.push_str(&format!(
            "<div class=\"error\" role=\"alert\" id=\"device-error\">{}</div>",
            esc(e)
        ));
    }
    body.push_str(&format!(
        "<form method=\"get\" action=\"{}\">\
         <label for=\"user_code\">Code</label><input id=\"user_code\" name=\"user_code\" type=\"text\" \
         autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required maxlength=\"64\" \
         placeholder=\"XXXX-XXXX\" aria-describedby=\"code-help\">\
         <p id=\"code-help\" class=\"sub\">Letters only; dashes and letter case do not matter.</p>\
         <button type=\"submit\" id=\"continue\">Continue</button></form>",
        esc(action)
    ));
    page(status, "Connect a device", &body)
}

/// What the confirmation page shows.
pub struct Confirm<'a> {
    pub zone_name: &'a str,
    pub client_name: &'a str,
    /// The user code as shown on the device (`XXXX-XXXX`).
    pub user_code: &'a str,
    pub scopes: &'a [String],
    pub resources: &'a [String],
    pub action: &'a str,
    pub csrf: &'a str,
}

/// The confirmation: the client, the code to compare, what it asks for, Approve and Deny.
pub fn confirm(p: &Confirm<'_>) -> Response {
    let items: String = p
        .scopes
        .iter()
        .chain(p.resources.iter())
        .map(|s| format!("<li>{}</li>", esc(s)))
        .collect();
    let list = if items.is_empty() {
        "<p>Access to your account in this zone.</p>".to_owned()
    } else {
        format!("<ul class=\"scopes\" id=\"device-access\">{items}</ul>")
    };
    let body = format!(
        "<h1>Connect this device?</h1><p class=\"sub\"><strong id=\"client-name\">{}</strong> on a device asks to act for you in {}. \
         Approve only if your device shows this code:</p><p class=\"code\" id=\"shown-code\">{}</p>\
         <p>It asks for:</p>{list}\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"user_code\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button>\
         <button type=\"submit\" class=\"secondary\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>",
        esc(p.client_name),
        esc(p.zone_name),
        esc(p.user_code),
        esc(p.action),
        esc(p.user_code),
        esc(p.csrf)
    );
    page(StatusCode::OK, "Connect a device", &body)
}

/// After the decision.
pub fn done(approved: bool, client_name: &str) -> Response {
    let (heading, message) = if approved {
        (
            "Device connected",
            format!(
                "{client_name} is signed in. You can close this page and return to your device."
            ),
        )
    } else {
        (
            "Request denied",
            format!("{client_name} was not given access. You can close this page."),
        )
    };
    let body = format!(
        "<h1 id=\"device-outcome\">{}</h1><p class=\"sub\">{}</p>",
        esc(heading),
        esc(&message)
    );
    page(StatusCode::OK, heading, &body)
}
