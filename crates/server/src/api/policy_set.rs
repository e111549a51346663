//! Wire types of policy sets (spec §3.17, §4.15): sets with their binding, versions with manifest
//! and attestation, and the extensions (attestation JWS, dry-run evaluate, decision log).

use latchkey_domain::Timestamp;
use latchkey_domain::id::{PolicyId, PolicyVersionId};
use latchkey_domain::model::policy::{ManifestEntry, PolicySet, PolicySetVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::policy::ByUser;

/// `PolicySetWithBinding`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySetView {
    pub id: String,
    pub zone_id: String,
    pub name: String,
    pub owner_type: &'static str,
    pub target_type: &'static str,
    /// Deprecated alias of `target_type`.
    pub scope_type: &'static str,
    pub latest_version: Option<i64>,
    pub latest_version_id: Option<String>,
    pub active: bool,
    pub active_version: Option<i64>,
    pub active_version_id: Option<String>,
    pub shadow_version: Option<i64>,
    pub shadow_version_id: Option<String>,
    pub mode: Option<&'static str>,
    pub target_id: Option<String>,
    /// Deprecated alias of `target_id`.
    pub scope_target_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub updated_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    #[serde(flatten)]
    pub by_user: ByUser,
}

impl PolicySetView {
    /// The view of `s`, with the numbers of its active and shadow versions.
    pub fn new(s: PolicySet, active_version: Option<i64>, shadow_version: Option<i64>) -> Self {
        let bound = s.active_version_id.is_some();
        let mode = if bound {
            Some("active")
        } else if s.shadow_version_id.is_some() {
            Some("shadow")
        } else {
            None
        };
        let target = (bound || s.shadow_version_id.is_some())
            .then(|| s.target_id.clone())
            .flatten();
        Self {
            id: s.id.into_string(),
            zone_id: s.zone_id.into_string(),
            name: s.name,
            owner_type: s.owner_type.as_str(),
            target_type: s.target_type.as_str(),
            scope_type: s.target_type.as_str(),
            latest_version: s.latest_version,
            latest_version_id: s.latest_version_id.map(|v| v.into_string()),
            active: bound,
            active_version,
            active_version_id: s.active_version_id.map(|v| v.into_string()),
            shadow_version,
            shadow_version_id: s.shadow_version_id.map(|v| v.into_string()),
            mode,
            scope_target_id: target.clone(),
            target_id: target,
            created_at: s.created_at,
            created_by: s.created_by,
            updated_at: s.updated_at,
            updated_by: s.updated_by,
            archived_at: s.archived_at,
            by_user: ByUser::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ManifestEntryBody {
    pub policy_id: String,
    pub policy_version_id: String,
    /// Filled by the server; a client value is ignored.
    #[serde(default)]
    pub sha: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ManifestBody {
    pub entries: Vec<ManifestEntryBody>,
}

impl From<&ManifestEntry> for ManifestEntryBody {
    fn from(e: &ManifestEntry) -> Self {
        Self {
            policy_id: e.policy_id.as_str().to_owned(),
            policy_version_id: e.policy_version_id.as_str().to_owned(),
            sha: Some(e.sha.clone()),
        }
    }
}

impl ManifestEntryBody {
    pub fn ids(&self) -> (PolicyId, PolicyVersionId) {
        (
            PolicyId::new(&self.policy_id),
            PolicyVersionId::new(&self.policy_version_id),
        )
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySetVersionView {
    pub id: String,
    pub zone_id: String,
    pub policy_set_id: String,
    pub version: i64,
    pub schema_version: String,
    pub owner_type: &'static str,
    pub manifest: ManifestBody,
    pub manifest_sha: String,
    /// The decoded attestation statement.
    #[schema(value_type = Option<Object>)]
    pub attestation: Option<serde_json::Value>,
    pub active: bool,
    pub shadow: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    pub archived_by: Option<String>,
    #[serde(flatten)]
    pub by_user: ByUser,
}

impl PolicySetVersionView {
    /// The view of `v` of `set` (whose binding says whether `v` is active or shadow).
    pub fn new(v: PolicySetVersion, set: &PolicySet) -> Self {
        let active = set.active_version_id.as_ref() == Some(&v.id);
        let shadow = set.shadow_version_id.as_ref() == Some(&v.id);
        Self {
            manifest: ManifestBody {
                entries: v.manifest.iter().map(ManifestEntryBody::from).collect(),
            },
            id: v.id.into_string(),
            zone_id: v.zone_id.into_string(),
            policy_set_id: v.policy_set_id.into_string(),
            version: v.version,
            schema_version: v.schema_version,
            owner_type: v.owner_type.as_str(),
            manifest_sha: v.manifest_sha,
            attestation: v.attestation,
            active,
            shadow,
            created_at: v.created_at,
            created_by: v.created_by,
            archived_at: v.archived_at,
            archived_by: v.archived_by,
            by_user: ByUser::default(),
        }
    }
}

/// The attestation extension: the statement and its compact JWS.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationView {
    #[schema(value_type = Object)]
    pub statement: serde_json::Value,
    pub jws: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePolicySet {
    pub name: String,
    pub target_type: Option<String>,
    /// Deprecated: only `zone`.
    pub scope_type: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdatePolicySet {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePolicySetVersion {
    pub manifest: ManifestBody,
    pub schema_version: String,
}

/// `PATCH …/versions/{id}`: `{"active": true}` binds the version; `{"shadow": true|false}`
/// (extension) binds or unbinds it as the shadow version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicySetVersion {
    pub active: Option<bool>,
    pub shadow: Option<bool>,
}

/// `POST …/policy-sets/{id}/versions/{vid}/evaluate` (extension): a token request, as far as
/// policy sees it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluateRequest {
    /// `client_credentials`, the token-exchange URN, `authorization_code` or `refresh_token`.
    pub grant_type: String,
    /// The client: an application credential's client id.
    pub client_id: String,
    /// The resource identifier asked for.
    pub resource: String,
    pub scope: Option<String>,
    /// The user acted for (identifier), for the user grants and token exchange.
    pub subject: Option<String>,
    /// `urn:keycard:params:oauth:token-type:substitute-user` makes `subject` impersonated.
    pub subject_token_type: Option<String>,
}

/// What a policy set version would decide.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluateView {
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// The policies behind the decision (`{policy_id, policy_name, policy_version}`).
    #[schema(value_type = Vec<Object>)]
    pub determining_policies: Vec<serde_json::Value>,
    /// The requested scopes a token would carry.
    pub scopes: Vec<String>,
    /// The requested scopes policy removes.
    pub denied_scopes: Vec<String>,
    /// The `access_denied` description a token request would get.
    pub message: Option<String>,
    pub errors: Vec<String>,
}

/// One entry of the policy decision log (extension).
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub id: String,
    pub zone_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the last of the identical decisions this entry tallies was made.
    #[schema(value_type = String, format = DateTime)]
    pub last_at: Timestamp,
    /// How many identical decisions (same principal, subject, resource, scopes, outcome and
    /// policies) this entry stands for, made between `created_at` and `last_at`.
    pub evaluations: i64,
    pub principal_type: String,
    pub principal_id: String,
    pub subject_id: Option<String>,
    pub action: String,
    pub resource_id: String,
    pub decision: String,
    #[schema(value_type = Vec<Object>)]
    pub determining_policies: serde_json::Value,
    pub policy_set_id: Option<String>,
    pub policy_set_version: Option<i64>,
    /// The shadow set's decision when it differed.
    #[schema(value_type = Option<Object>)]
    pub shadow: Option<serde_json::Value>,
    pub scopes: Vec<String>,
}

impl From<latchkey_domain::model::policy::DecisionRecord> for DecisionView {
    fn from(d: latchkey_domain::model::policy::DecisionRecord) -> Self {
        Self {
            id: d.id,
            zone_id: d.zone_id.into_string(),
            created_at: d.created_at,
            last_at: d.last_at,
            evaluations: d.evaluations,
            principal_type: d.principal_type,
            principal_id: d.principal_id,
            subject_id: d.subject_id,
            action: d.action,
            resource_id: d.resource_id,
            decision: d.decision,
            determining_policies: d.determining,
            policy_set_id: d.policy_set_id,
            policy_set_version: d.policy_set_version,
            shadow: d.shadow,
            scopes: d.scopes,
        }
    }
}

super::policy::attributed!(PolicySetView, created_by, updated_by, 1);
super::policy::attributed!(PolicySetVersionView, created_by, archived_by, 2);
