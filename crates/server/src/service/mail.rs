//! Invitation email: the message (plain text and simple HTML carrying the invitation link, the
//! organization, the role and the expiry) and its delivery over SMTP, sent in the background so
//! that creating an invitation never waits on a mail server. Logs name the invitation by id,
//! never its token or link.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::Timestamp;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::smtp::{SmtpSettings, SmtpTls};
use crate::html::esc;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("building the message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("recipient address: {0}")]
    Address(#[from] lettre::address::AddressError),
}

/// The SMTP transport and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for checked settings (no connection is made yet).
    pub fn new(settings: &SmtpSettings) -> Result<Self, MailError> {
        type Smtp = AsyncSmtpTransport<Tokio1Executor>;
        let host = settings.host.as_str();
        let mut builder = match settings.tls {
            SmtpTls::None => Smtp::builder_dangerous(host),
            SmtpTls::Starttls => Smtp::starttls_relay(host)?,
            SmtpTls::Tls => Smtp::relay(host)?,
        }
        .port(settings.port)
        .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.clone(),
        })
    }

    /// Sends `mail` to `to`.
    pub async fn send(&self, to: &str, mail: &Rendered) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.parse()?))
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// What an invitation email says.
pub struct InvitationMail<'a> {
    pub organization: &'a str,
    /// `org_admin`, `org_member` or `org_viewer`.
    pub role: &'a str,
    /// The invitation page, with the token.
    pub link: &'a str,
    pub expires_at: Timestamp,
}

/// A rendered email.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The role in words, for people.
fn role_words(role: &str) -> &'static str {
    match role {
        "org_admin" => "an administrator",
        "org_viewer" => "a viewer",
        _ => "a member",
    }
}

/// `2026-01-31 14:05 UTC`
fn when(t: Timestamp) -> String {
    let iso = t.to_rfc3339();
    format!(
        "{} UTC",
        iso.get(..16).unwrap_or(&iso).replacen('T', " ", 1)
    )
}

/// Renders the invitation email. The link is the only secret in it.
pub fn render(m: &InvitationMail<'_>) -> Rendered {
    // A header line: no control characters (lettre encodes the rest).
    let org_line: String = m
        .organization
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let role = format!("{} ({})", role_words(m.role), m.role);
    let expiry = when(m.expires_at);
    let text = format!(
        "You have been invited to join {org} on Latchkey as {role}.\n\n\
         Create your account with this link:\n\n{link}\n\n\
         The link works once and expires on {expiry}.\n\
         If you did not expect this invitation, you can ignore this email.\n",
        org = m.organization,
        link = m.link,
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><body style=\"font-family:system-ui,sans-serif;color:#1d2330\">\
         <p>You have been invited to join <strong>{org}</strong> on Latchkey as {role}.</p>\
         <p><a href=\"{link}\" style=\"display:inline-block;padding:.6rem 1rem;background:#2f5bea;color:#fff;border-radius:6px;text-decoration:none\">Create your account</a></p>\
         <p style=\"color:#5b6475\">Or open this link: {link}</p>\
         <p style=\"color:#5b6475\">The link works once and expires on {expiry}. If you did not expect this invitation, you can ignore this email.</p>\
         </body></html>",
        org = esc(m.organization),
        role = esc(&role),
        link = esc(m.link),
        expiry = esc(&expiry),
    );
    Rendered {
        subject: format!("You're invited to join {org_line} on Latchkey"),
        text,
        html,
    }
}

/// Sends an invitation email in the background. The outcome is logged with the invitation's id.
pub fn send_later(mailer: Arc<Mailer>, invitation_id: String, to: String, mail: Rendered) {
    tokio::spawn(async move {
        match mailer.send(&to, &mail).await {
            Ok(()) => tracing::info!(invitation = %invitation_id, "invitation email sent"),
            Err(e) => {
                tracing::warn!(invitation = %invitation_id, error = %e, "sending the invitation email failed")
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "lk_inv_S3cretTokenValue";

    fn sample(org: &str) -> (String, Rendered) {
        let link = format!("https://id.example/z/abc/invitation?token={TOKEN}");
        let rendered = render(&InvitationMail {
            organization: org,
            role: "org_admin",
            link: &link,
            expires_at: Timestamp::from_millis(1_767_225_600_000),
        });
        (link, rendered)
    }

    #[test]
    fn says_the_organization_role_expiry_and_link() {
        let (link, m) = sample("Acme");
        for part in [&m.text, &m.html] {
            assert!(part.contains("Acme"));
            assert!(part.contains("an administrator (org_admin)"));
            assert!(part.contains("2026-01-01 00:00 UTC"));
        }
        assert!(m.text.contains(&link));
        assert!(m.html.contains(&format!("href=\"{}\"", esc(&link))));
        assert_eq!(m.subject, "You're invited to join Acme on Latchkey");
    }

    #[test]
    fn the_token_appears_only_inside_the_link() {
        let (link, m) = sample("Acme");
        assert!(!m.subject.contains(TOKEN));
        assert!(!m.text.replace(&link, "").contains(TOKEN));
        assert!(!m.html.replace(&esc(&link), "").contains(TOKEN));
    }

    #[test]
    fn names_are_escaped_and_kept_out_of_header_syntax() {
        let (_, m) = sample("<b>Evil</b>\r\nBcc: x@y");
        assert!(m.html.contains("&lt;b&gt;Evil&lt;/b&gt;"));
        assert!(!m.html.contains("<b>Evil"));
        assert!(!m.subject.contains(['\r', '\n']));
    }

    #[test]
    fn builds_a_mailer_for_each_tls_mode() {
        for tls in [SmtpTls::None, SmtpTls::Starttls, SmtpTls::Tls] {
            let settings = SmtpSettings {
                host: "mail.example".into(),
                port: tls.default_port(),
                tls,
                credentials: Some(("u".into(), "p".into())),
                from: "Latchkey <lk@example.com>".parse().expect("a mailbox"),
            };
            assert!(Mailer::new(&settings).is_ok());
        }
    }
}
