//! Policy set version attestations as data: the manifest and its `manifest_sha`, the
//! `AttestationStatement`, and the JWS bytes the server signs with the zone key (signing and
//! verification of the signature are the key ring's). A statement is signed over its RFC 8785
//! form, which is the JWS payload.
//!
//! `manifest_sha` = hex SHA-256 of the JCS form of `{"entries":[{"policy_id","policy_version_id",
//! "sha"}…]}`: entries in manifest order (the order is part of the version), each with the
//! policy version's `sha`, so the digest binds the content and not only the ids. Bare hex, no
//! `sha256:` prefix, like `PolicyVersion.sha`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::jcs::jcs;
use crate::validate::sha256_hex;

/// One manifest entry, as the API serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub policy_id: String,
    pub policy_version_id: String,
    /// The policy version's `sha` (server-filled).
    pub sha: String,
}

/// A policy set version's manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Hex SHA-256 of the JCS form of the manifest.
    pub fn sha(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        sha256_hex(jcs(&value).as_bytes())
    }
}

/// `created` when the version is made, `re_signed` after a key rotation (same content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationStatus {
    Created,
    ReSigned,
}

/// The statement type.
pub const STATEMENT_TYPE: &str = "policy_set_attestation";

/// What a policy set version's attestation asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationStatement {
    /// Always 1.
    pub v: u32,
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub zone_id: String,
    pub policy_set_id: String,
    pub policy_set_version: u32,
    pub manifest_sha: String,
    /// The signing key's `kid` (also in the JWS header).
    pub key_id: String,
    /// RFC 3339, UTC, milliseconds (the caller formats it).
    pub attested_at: String,
    /// Who made the version (`created_by`), or the platform for a re-signature.
    pub attested_by: String,
    pub status: AttestationStatus,
}

/// A statement that is not the signed form of itself or is not a version 1 attestation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("the payload is not an attestation statement: {0}")]
    Malformed(String),
    #[error("the payload is not in RFC 8785 canonical form")]
    NotCanonical,
    #[error("unsupported statement `v` or `type`")]
    Unsupported,
}

impl AttestationStatement {
    /// The RFC 8785 form: the JWS payload.
    pub fn canonical(&self) -> String {
        jcs(&serde_json::to_value(self).unwrap_or_default())
    }

    /// The JWS signing input `BASE64URL(header) "." BASE64URL(payload)` for a compact JWS with
    /// header `{"alg": alg, "kid": key_id}` (in JCS form); the caller signs these bytes.
    pub fn jws_signing_input(&self, alg: &str) -> String {
        let header = serde_json::json!({"alg": alg, "kid": self.key_id});
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(jcs(&header)),
            URL_SAFE_NO_PAD.encode(self.canonical())
        )
    }

    /// Reads a JWS payload back, checking it is canonical and a version 1 attestation.
    pub fn from_payload(payload: &[u8]) -> Result<Self, StatementError> {
        let statement: Self = serde_json::from_slice(payload)
            .map_err(|e| StatementError::Malformed(e.to_string()))?;
        if statement.canonical().as_bytes() != payload {
            return Err(StatementError::NotCanonical);
        }
        if statement.v != 1 || statement.kind != STATEMENT_TYPE {
            return Err(StatementError::Unsupported);
        }
        Ok(statement)
    }
}

/// The compact JWS from a signing input and the signature bytes.
pub fn jws_compact(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> AttestationStatement {
        AttestationStatement {
            v: 1,
            kind: STATEMENT_TYPE.into(),
            zone_id: "z1".into(),
            policy_set_id: "pset_1".into(),
            policy_set_version: 3,
            manifest_sha: "ab".into(),
            key_id: "k1".into(),
            attested_at: "2026-03-25T10:00:00.000Z".into(),
            attested_by: "usr_1".into(),
            status: AttestationStatus::Created,
        }
    }

    #[test]
    fn the_statement_is_signed_in_canonical_form() {
        let s = statement();
        assert_eq!(
            s.canonical(),
            r#"{"attested_at":"2026-03-25T10:00:00.000Z","attested_by":"usr_1","key_id":"k1","manifest_sha":"ab","policy_set_id":"pset_1","policy_set_version":3,"status":"created","type":"policy_set_attestation","v":1,"zone_id":"z1"}"#
        );
        let input = s.jws_signing_input("RS256");
        let (header, payload) = input.split_once('.').expect("two parts");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).expect("b64"),
            br#"{"alg":"RS256","kid":"k1"}"#
        );
        let payload = URL_SAFE_NO_PAD.decode(payload).expect("b64");
        assert_eq!(AttestationStatement::from_payload(&payload), Ok(s));
        assert_eq!(jws_compact("a.b", &[0xff, 0xfe]), "a.b.__4");
    }

    #[test]
    fn a_payload_that_is_not_canonical_or_not_v1_is_refused() {
        let pretty = serde_json::to_vec_pretty(&statement()).expect("json");
        assert_eq!(
            AttestationStatement::from_payload(&pretty),
            Err(StatementError::NotCanonical)
        );
        let mut v2 = statement();
        v2.v = 2;
        assert_eq!(
            AttestationStatement::from_payload(v2.canonical().as_bytes()),
            Err(StatementError::Unsupported)
        );
        let mut resigned = statement();
        resigned.status = AttestationStatus::ReSigned;
        assert!(resigned.canonical().contains(r#""status":"re_signed""#));
    }

    #[test]
    fn manifest_sha_covers_order_ids_and_content() {
        let entry = |p: &str, sha: &str| ManifestEntry {
            policy_id: p.into(),
            policy_version_id: format!("{p}_v1"),
            sha: sha.into(),
        };
        let m = Manifest {
            entries: vec![entry("a", "11"), entry("b", "22")],
        };
        assert_eq!(
            m.sha(),
            sha256_hex(
                br#"{"entries":[{"policy_id":"a","policy_version_id":"a_v1","sha":"11"},{"policy_id":"b","policy_version_id":"b_v1","sha":"22"}]}"#
            )
        );
        let swapped = Manifest {
            entries: vec![entry("b", "22"), entry("a", "11")],
        };
        let edited = Manifest {
            entries: vec![entry("a", "11"), entry("b", "23")],
        };
        assert_ne!(m.sha(), swapped.sha());
        assert_ne!(m.sha(), edited.sha());
        assert_eq!(Manifest::default().sha(), sha256_hex(br#"{"entries":[]}"#));
    }
}
