//! Cedar policies as the store keeps them (spec §4.13–4.15): schema versions, policies and their
//! immutable versions, policy sets with their immutable manifest versions and the binding that
//! makes one version active (or observed, in shadow) for the set's target. The Cedar itself is
//! `latchkey-policy`'s business; these types only carry it.

use serde::{Deserialize, Serialize};

use super::OwnerType;
use crate::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId, ZoneId};
use crate::time::Timestamp;

/// Lifecycle of a schema version (B21): `active` takes new policy versions, `deprecated` still
/// does, `archived` takes none (sets pinned to it still evaluate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaStatus {
    Active,
    Deprecated,
    Archived,
}

impl SchemaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deprecated" => Some(Self::Deprecated),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// A Cedar schema version, platform-wide data (a new version is a migration, not code).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaVersion {
    /// e.g. `2026-03-16`; the identifier.
    pub version: String,
    pub status: SchemaStatus,
    /// The schema in Cedar's human-readable syntax.
    pub cedar: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deprecated_at: Option<Timestamp>,
    pub archived_at: Option<Timestamp>,
}

/// Who changed an object: the raw actor string (`*_by`) of the principal.
pub type Actor = String;

/// A policy: a name for a sequence of immutable versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub zone_id: ZoneId,
    pub id: PolicyId,
    pub name: String,
    pub description: Option<String>,
    pub owner_type: OwnerType,
    pub latest_version: Option<i64>,
    pub latest_version_id: Option<PolicyVersionId>,
    pub latest_schema_version: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Actor,
    pub updated_at: Timestamp,
    pub updated_by: Option<Actor>,
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<Actor>,
}

/// An immutable policy version: Cedar validated against `schema_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyVersion {
    pub zone_id: ZoneId,
    pub id: PolicyVersionId,
    pub policy_id: PolicyId,
    /// Per-policy sequence number from 1, given out by the store.
    pub version: i64,
    pub schema_version: String,
    pub owner_type: OwnerType,
    /// The stored Cedar text.
    pub cedar_raw: String,
    /// The same policy in Cedar's JSON form, kept verbatim.
    pub cedar_json: serde_json::Value,
    /// Hex SHA-256 of `cedar_raw`.
    pub sha: String,
    pub created_at: Timestamp,
    pub created_by: Actor,
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<Actor>,
}

/// What a policy set applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// Every request in the zone.
    Zone,
    /// One user (per-user bundle sets).
    User,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zone" => Some(Self::Zone),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// A policy set and its binding: the active version (enforced) and the shadow version
/// (evaluated and recorded only), both for `target_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySet {
    pub zone_id: ZoneId,
    pub id: PolicySetId,
    pub name: String,
    pub owner_type: OwnerType,
    pub target_type: TargetType,
    /// The zone id for zone sets, the user id for user sets; set when first bound.
    pub target_id: Option<String>,
    pub latest_version: Option<i64>,
    pub latest_version_id: Option<PolicySetVersionId>,
    pub active_version_id: Option<PolicySetVersionId>,
    pub shadow_version_id: Option<PolicySetVersionId>,
    pub created_at: Timestamp,
    pub created_by: Actor,
    pub updated_at: Timestamp,
    pub updated_by: Option<Actor>,
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<Actor>,
}

/// One pinned policy version of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub policy_id: PolicyId,
    pub policy_version_id: PolicyVersionId,
    /// The policy version's `sha`, filled by the server.
    pub sha: String,
}

/// An immutable policy set version: its manifest, pinned schema and signed attestation.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySetVersion {
    pub zone_id: ZoneId,
    pub id: PolicySetVersionId,
    pub policy_set_id: PolicySetId,
    /// Per-set sequence number from 1, given out by the store.
    pub version: i64,
    pub schema_version: String,
    pub owner_type: OwnerType,
    pub manifest: Vec<ManifestEntry>,
    /// Hex SHA-256 of the RFC 8785 form of the manifest.
    pub manifest_sha: String,
    /// The attestation statement (JSON) and its compact JWS.
    pub attestation: Option<serde_json::Value>,
    pub attestation_jws: Option<String>,
    pub created_at: Timestamp,
    pub created_by: Actor,
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<Actor>,
}

/// What the engine evaluates for a zone: each bound set (active or shadow) with the version and
/// the pinned policy versions (with their policies' names), in manifest order.
#[derive(Debug, Clone)]
pub struct BoundSet {
    pub set: PolicySet,
    pub version: PolicySetVersion,
    pub policies: Vec<(Policy, PolicyVersion)>,
    /// `false`: the shadow binding.
    pub active: bool,
}

/// Identical Cedar evaluations at issuance in one flush window, as the decision log keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRecord {
    pub zone_id: ZoneId,
    pub id: String,
    /// When the first of the tallied evaluations was made.
    pub created_at: Timestamp,
    /// When the last of them was made.
    pub last_at: Timestamp,
    /// How many identical evaluations this row stands for (one flush window's worth).
    pub evaluations: i64,
    /// `application` or `user`: the first principal evaluated.
    pub principal_type: String,
    /// The principal's public id.
    pub principal_id: String,
    /// The user acted for or as (delegation, impersonation), if any.
    pub subject_id: Option<String>,
    pub action: String,
    pub resource_id: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// The policies behind the decision (`[{policy_id, policy_name, policy_version}]`).
    pub determining: serde_json::Value,
    pub policy_set_id: Option<String>,
    pub policy_set_version: Option<i64>,
    /// The shadow set's decision when it differs (`{policy_set_id, policy_set_version,
    /// decision, determining}`).
    pub shadow: Option<serde_json::Value>,
    pub scopes: Vec<String>,
}
