//! Records of the browser flows: what an authorization code or refresh token stands for, and the
//! outcomes of using them once (single use, rotation with reuse detection).

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What a code or refresh token grants: who, to which client, for which resources and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantData {
    pub client_id: String,
    pub user_id: String,
    /// The web session the user signed in with.
    pub session_id: Option<String>,
    /// The token session recorded under it when the code was redeemed (refresh tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_session_id: Option<String>,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// The DPoP key (RFC 7638 thumbprint) a public client's refresh tokens are bound to (RFC 9449
    /// §5): set when the code is redeemed with a proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

/// The outcome of redeeming a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// First use: the code is now spent.
    Fresh(GrantData),
    /// Already spent: a replay. Whatever it issued must be revoked.
    Replayed(GrantData),
    /// Unknown or expired.
    Invalid,
}

/// A refresh token as stored (the token itself only as its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub family_id: String,
    pub grant: GrantData,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

/// What a user consented to for one client: scopes and resources (identifiers as requested).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
}

impl ConsentRecord {
    /// Whether this consent covers every one of `scopes` and `resources`.
    pub fn covers(&self, scopes: &[String], resources: &[String]) -> bool {
        scopes.iter().all(|s| self.scopes.contains(s))
            && resources.iter().all(|r| self.resources.contains(r))
    }

    /// This consent widened by `scopes` and `resources`.
    pub fn merged(mut self, scopes: &[String], resources: &[String]) -> Self {
        for s in scopes {
            if !self.scopes.contains(s) {
                self.scopes.push(s.clone());
            }
        }
        for r in resources {
            if !self.resources.contains(r) {
                self.resources.push(r.clone());
            }
        }
        self
    }
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// The token was current; it is now rotated out in favour of the new one.
    Rotated(Box<GrantData>),
    /// The token had already been rotated or revoked: its whole family is now revoked.
    Reused,
    /// The session it was issued under was revoked, deleted or expired: the family is revoked.
    SessionEnded,
    /// Unknown or expired.
    Invalid,
}
