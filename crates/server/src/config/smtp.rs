//! The SMTP settings of invitation email: the flags as given (`SmtpConfig`), and their checked
//! form (`SmtpSettings`) that the mailer is built from. Checked once at start, so a wrong setting
//! stops `serve` with a clear message instead of failing at the first invitation.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use lettre::message::Mailbox;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SmtpTls {
    /// Plain text (a local relay or a test sink only).
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS).
    Tls,
}

impl SmtpTls {
    /// The usual port of each mode: 25, 587 (submission), 465 (submissions).
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// SMTP flags as given. Without `--smtp-host` no email is sent: invitations are handed over
/// through the create response's `token` (or `latchkey invite`).
#[derive(Clone, Default, Args)]
pub struct SmtpConfig {
    /// SMTP server that sends invitation email. Unset: no email is sent.
    #[arg(long = "smtp-host", env = "LATCHKEY_SMTP_HOST")]
    pub host: Option<String>,

    /// SMTP port. Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    #[arg(long = "smtp-port", env = "LATCHKEY_SMTP_PORT")]
    pub port: Option<u16>,

    /// Connection security.
    #[arg(long = "smtp-tls", env = "LATCHKEY_SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub tls: SmtpTls,

    /// User name for SMTP authentication (with a password).
    #[arg(long = "smtp-username", env = "LATCHKEY_SMTP_USERNAME")]
    pub username: Option<String>,

    /// Password for SMTP authentication. Prefer `--smtp-password-file`.
    #[arg(
        long = "smtp-password",
        env = "LATCHKEY_SMTP_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_file"
    )]
    pub password: Option<String>,

    /// File holding the SMTP password (a trailing newline is ignored).
    #[arg(long = "smtp-password-file", env = "LATCHKEY_SMTP_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,

    /// Sender of invitation email, e.g. `Latchkey <latchkey@example.com>`. Required with
    /// `--smtp-host`.
    #[arg(long = "smtp-from", env = "LATCHKEY_SMTP_FROM")]
    pub from: Option<String>,
}

// By hand: the password never reaches a log line or an error message.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("from", &self.from)
            .finish()
    }
}

/// Checked SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants authentication.
    pub credentials: Option<(String, String)>,
    pub from: Mailbox,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// A wrong SMTP setting.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SmtpConfigError(String);

impl SmtpConfig {
    /// The checked settings, or `None` when no SMTP host is set.
    pub fn settings(&self) -> Result<Option<SmtpSettings>, SmtpConfigError> {
        let bad = |m: String| Err(SmtpConfigError(m));
        let Some(host) = self.host.as_deref().map(str::trim) else {
            if self.from.is_some() || self.username.is_some() || self.has_password() {
                return bad("the SMTP settings need `--smtp-host` (LATCHKEY_SMTP_HOST)".into());
            }
            return Ok(None);
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return bad(format!("`--smtp-host` `{host}` is not a host name"));
        }
        if self.port == Some(0) {
            return bad("`--smtp-port` must be between 1 and 65535".into());
        }
        let Some(from) = self.from.as_deref() else {
            return bad(
                "`--smtp-from` (LATCHKEY_SMTP_FROM) is required with `--smtp-host`, e.g. `Latchkey <latchkey@example.com>`".into(),
            );
        };
        let Ok(from) = from.trim().parse::<Mailbox>() else {
            return bad(format!(
                "`--smtp-from` `{from}` is not an email address (e.g. `Latchkey <latchkey@example.com>`)"
            ));
        };
        Ok(Some(SmtpSettings {
            host: host.to_owned(),
            port: self.port.unwrap_or_else(|| self.tls.default_port()),
            tls: self.tls,
            credentials: self.credentials()?,
            from,
        }))
    }

    fn has_password(&self) -> bool {
        self.password.is_some() || self.password_file.is_some()
    }

    /// User name and password: both or neither; the password from the flag or its file.
    fn credentials(&self) -> Result<Option<(String, String)>, SmtpConfigError> {
        let password = match (&self.password, &self.password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => Some(read_password(path)?),
            (None, None) => None,
        };
        match (&self.username, password) {
            (Some(user), Some(password)) => Ok(Some((user.clone(), password))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(SmtpConfigError(
                "`--smtp-username` needs `--smtp-password` or `--smtp-password-file`".into(),
            )),
            (None, Some(_)) => Err(SmtpConfigError(
                "an SMTP password needs `--smtp-username`".into(),
            )),
        }
    }
}

fn read_password(path: &std::path::Path) -> Result<String, SmtpConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SmtpConfigError(format!(
            "cannot read `--smtp-password-file` {}: {e}",
            path.display()
        ))
    })?;
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(SmtpConfigError(format!(
            "`--smtp-password-file` {} is empty",
            path.display()
        )));
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        smtp: SmtpConfig,
    }

    fn parse(args: &[&str]) -> Result<Option<SmtpSettings>, SmtpConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("latchkey").chain(args.iter().copied()))
            .map_err(|e| SmtpConfigError(e.to_string()))?;
        cli.smtp.settings()
    }

    fn err(args: &[&str]) -> String {
        match parse(args) {
            Err(e) => e.to_string(),
            Ok(s) => format!("accepted: {s:?}"),
        }
    }

    #[test]
    fn no_host_means_no_mail() {
        assert!(matches!(parse(&[]), Ok(None)));
    }

    #[test]
    fn defaults_are_starttls_on_587() {
        let s = parse(&[
            "--smtp-host",
            "mail.example",
            "--smtp-from",
            "a@example.com",
        ]);
        let Ok(Some(s)) = s else {
            unreachable!("{s:?}")
        };
        assert_eq!((s.tls, s.port), (SmtpTls::Starttls, 587));
        assert!(s.credentials.is_none());
        assert_eq!(s.from.email.to_string(), "a@example.com");
    }

    #[test]
    fn tls_modes_pick_their_port_unless_given() {
        let with = |extra: &[&str]| {
            let mut args = vec!["--smtp-host", "h", "--smtp-from", "a@example.com"];
            args.extend_from_slice(extra);
            parse(&args).ok().flatten().map(|s| (s.tls, s.port))
        };
        assert_eq!(with(&["--smtp-tls", "tls"]), Some((SmtpTls::Tls, 465)));
        assert_eq!(with(&["--smtp-tls", "none"]), Some((SmtpTls::None, 25)));
        assert_eq!(
            with(&["--smtp-tls", "none", "--smtp-port", "2525"]),
            Some((SmtpTls::None, 2525))
        );
        assert!(
            err(&[
                "--smtp-host",
                "h",
                "--smtp-from",
                "a@b.c",
                "--smtp-tls",
                "ssl"
            ])
            .contains("ssl")
        );
    }

    #[test]
    fn sender_is_required_and_checked() {
        assert!(
            err(&["--smtp-host", "h"]).contains("`--smtp-from` (LATCHKEY_SMTP_FROM) is required")
        );
        assert!(
            err(&["--smtp-host", "h", "--smtp-from", "not an address"])
                .contains("is not an email address")
        );
        let named = parse(&[
            "--smtp-host",
            "h",
            "--smtp-from",
            "Latchkey <lk@example.com>",
        ]);
        assert!(matches!(named, Ok(Some(s)) if s.from.name.as_deref() == Some("Latchkey")));
    }

    #[test]
    fn settings_without_a_host_are_refused() {
        assert!(err(&["--smtp-from", "a@example.com"]).contains("need `--smtp-host`"));
    }

    #[test]
    fn credentials_come_in_pairs() {
        let base = ["--smtp-host", "h", "--smtp-from", "a@example.com"];
        fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
            [base, extra].concat()
        }
        assert!(err(&with(&base, &["--smtp-username", "u"])).contains("needs `--smtp-password`"));
        assert!(err(&with(&base, &["--smtp-password", "p"])).contains("needs `--smtp-username`"));
        let both = parse(&with(
            &base,
            &["--smtp-username", "u", "--smtp-password", "p"],
        ));
        assert!(matches!(both, Ok(Some(s)) if s.credentials == Some(("u".into(), "p".into()))));
        assert!(
            err(&with(
                &base,
                &["--smtp-password", "p", "--smtp-password-file", "/x"]
            ))
            .contains("cannot be used with")
        );
    }

    #[test]
    fn password_file_is_read_without_its_newline() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n")?;
        let p = path.display().to_string();
        let args = [
            "--smtp-host",
            "h",
            "--smtp-from",
            "a@example.com",
            "--smtp-username",
            "u",
            "--smtp-password-file",
            &p,
        ];
        let Ok(Some(s)) = parse(&args) else {
            unreachable!()
        };
        assert_eq!(s.credentials, Some(("u".into(), "s3cret".into())));
        let missing = dir.path().join("none").display().to_string();
        let args = [
            "--smtp-host",
            "h",
            "--smtp-from",
            "a@example.com",
            "--smtp-username",
            "u",
            "--smtp-password-file",
            &missing,
        ];
        assert!(err(&args).contains("cannot read `--smtp-password-file`"));
        Ok(())
    }

    #[test]
    fn debug_output_hides_the_password() {
        let cli = Cli::try_parse_from([
            "latchkey",
            "--smtp-host",
            "h",
            "--smtp-from",
            "a@example.com",
            "--smtp-username",
            "u",
            "--smtp-password",
            "hunter2-secret",
        ]);
        let Ok(cli) = cli else { unreachable!() };
        assert!(!format!("{:?}", cli.smtp).contains("hunter2"));
        let Ok(Some(s)) = cli.smtp.settings() else {
            unreachable!()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
