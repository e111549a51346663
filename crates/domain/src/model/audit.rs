//! The audit log's record: one management write (or sign-in to the management API) — when, who,
//! what, on which object, where from, and how it ended. Never a request body, a secret or a token.

use crate::id::{OrganizationId, ZoneId};
use crate::time::Timestamp;

/// How a recorded request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A 1xx–3xx answer.
    Success,
    /// A 4xx or 5xx answer.
    Failure,
}

impl Outcome {
    /// The outcome of an HTTP status code.
    pub fn of_status(status: u16) -> Self {
        if status < 400 {
            Self::Success
        } else {
            Self::Failure
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// Who acted: a principal's raw id and kind (`api_key`, `service_account`, `user`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditActor {
    pub id: String,
    pub kind: String,
}

/// One audit event, kept by the organization it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub organization_id: OrganizationId,
    pub id: String,
    pub created_at: Timestamp,
    /// `None` for an unauthenticated request.
    pub actor: Option<AuditActor>,
    /// Dotted, e.g. `zones.applications.create` or `auth.sign_in`.
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub zone_id: Option<ZoneId>,
    pub request_id: String,
    /// The TCP peer's address.
    pub source_address: Option<String>,
    pub outcome: Outcome,
    /// The HTTP status answered.
    pub status: u16,
}
