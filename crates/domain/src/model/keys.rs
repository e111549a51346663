//! Zone signing keys. Each zone has one `current` key that signs, one `next` key already
//! published so verifiers learn it before it signs, and `previous` keys kept published until
//! `retire_at` (the longest token lifetime plus five minutes after they stopped signing).

use serde_json::Value;

use crate::id::ZoneId;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Next,
    Current,
    Previous,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Next, Self::Current, Self::Previous]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub zone_id: ZoneId,
    pub kid: String,
    /// JWS algorithm name (`RS256`, `ES256`, `EdDSA`).
    pub alg: String,
    pub status: KeyStatus,
    /// PKCS#8 private key, sealed.
    pub private_key: Vec<u8>,
    pub public_jwk: Value,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    pub retire_at: Option<Timestamp>,
}
