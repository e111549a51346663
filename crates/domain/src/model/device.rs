//! Records of the device authorization grant (RFC 8628): a pending device authorization as
//! stored (its device and user codes only as keyed hashes) and the states it moves through.

use crate::time::Timestamp;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for a person to approve or deny it on the verification page.
    Pending,
    /// Approved: the next poll redeems it.
    Approved,
    /// Denied by the person.
    Denied,
    /// Redeemed once; it issues nothing more.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Consumed => "consumed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "consumed" => Self::Consumed,
            _ => return None,
        })
    }
}

/// A device authorization request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// Keyed hash of the device code (what the device polls with).
    pub device_code_hash: String,
    /// Keyed hash of the normalized user code (what the person types).
    pub user_code_hash: String,
    pub client_id: String,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub status: DeviceStatus,
    /// Who approved (or denied) it, and from which web session.
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub expires_at: Timestamp,
    /// Seconds the device must wait between polls (grows with each `slow_down`).
    pub interval_seconds: i64,
    pub last_poll_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// The person's answer on the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecision {
    /// Approved by `user_id`, signed in with web session `session_id`.
    Approve { user_id: String, session_id: String },
    /// Denied by `user_id`.
    Deny { user_id: String },
}
