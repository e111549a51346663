//! Records of the browser flows: what an authorization code or refresh token stands for, and the
//! outcomes of using them once (single use, rotation with reuse detection).

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What a code or refresh token grants: who, to which client, for which resources and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantData {
    pub client_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
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

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// The token was current; it is now rotated out in favour of the new one.
    Rotated(Box<GrantData>),
    /// The token had already been rotated or revoked: its whole family is now revoked.
    Reused,
    /// Unknown or expired.
    Invalid,
}
