//! The crate's one error type and the process exit code each error maps to (documented in
//! `docs/cli.md`).

/// Exit status of a command that succeeded.
pub const EXIT_OK: u8 = 0;
/// Any failure without a more specific code (bad input the server refused, I/O, …).
pub const EXIT_ERROR: u8 = 1;
/// The command line was wrong (clap uses the same code for its own errors).
pub const EXIT_USAGE: u8 = 2;
/// Not signed in, or the server refused the credentials (401, `invalid_grant`).
pub const EXIT_UNAUTHENTICATED: u8 = 3;
/// The server answered 403.
pub const EXIT_FORBIDDEN: u8 = 4;
/// The server answered 404.
pub const EXIT_NOT_FOUND: u8 = 5;
/// The server answered 409.
pub const EXIT_CONFLICT: u8 = 6;
/// The server could not be reached (connection refused, DNS, timeout, TLS).
pub const EXIT_UNREACHABLE: u8 = 7;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A management API error body `{message, code, status}` (or a bare status).
    #[error("{message} (code `{code}`, HTTP {status})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// An OAuth error body `{error, error_description}`.
    #[error("{description} (error `{error}`, HTTP {status})")]
    OAuth {
        status: u16,
        error: String,
        description: String,
    },
    #[error("cannot reach `{url}`: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("not signed in (profile `{0}`): run `latchkey login` or pass --token")]
    NotSignedIn(String),
    /// The profile's sign-in was made at another server; its tokens are not sent here.
    #[error(
        "profile `{profile}` is signed in at `{signed_in}`, not `{server}`: run `latchkey login` or pass --token"
    )]
    OtherServer {
        profile: String,
        signed_in: String,
        server: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Other(String),
    #[error("`{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Results of this crate.
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Api { status, .. } => match status {
                401 => EXIT_UNAUTHENTICATED,
                403 => EXIT_FORBIDDEN,
                404 => EXIT_NOT_FOUND,
                409 => EXIT_CONFLICT,
                _ => EXIT_ERROR,
            },
            Self::OAuth { status, error, .. } => {
                if *status == 401 || error == "invalid_grant" || error == "invalid_token" {
                    EXIT_UNAUTHENTICATED
                } else {
                    EXIT_ERROR
                }
            }
            Self::Unreachable { .. } => EXIT_UNREACHABLE,
            Self::NotSignedIn(_) | Self::OtherServer { .. } => EXIT_UNAUTHENTICATED,
            Self::Usage(_) => EXIT_USAGE,
            Self::Other(_) | Self::Io { .. } => EXIT_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> CliError {
        CliError::Api {
            status,
            code: "x".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn statuses_map_to_documented_exit_codes() {
        assert_eq!(api(401).exit_code(), 3);
        assert_eq!(api(403).exit_code(), 4);
        assert_eq!(api(404).exit_code(), 5);
        assert_eq!(api(409).exit_code(), 6);
        assert_eq!(api(400).exit_code(), 1);
        assert_eq!(CliError::Usage("u".into()).exit_code(), 2);
        assert_eq!(CliError::NotSignedIn("p".into()).exit_code(), 3);
        let unreachable = CliError::Unreachable {
            url: "u".into(),
            reason: "r".into(),
        };
        assert_eq!(unreachable.exit_code(), 7);
    }

    #[test]
    fn api_error_shows_message_and_code() {
        let e = CliError::Api {
            status: 404,
            code: "not_found".into(),
            message: "zone `z` not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "zone `z` not found (code `not_found`, HTTP 404)"
        );
    }
}
