//! Persistence of Cedar policies: schema versions, policies and policy sets with their immutable
//! versions, bindings, and the seeded platform set. Numbering a new version and moving a binding
//! are single atomic methods.

use async_trait::async_trait;

use crate::error::StoreResult;
use crate::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId, ZoneId};
use crate::model::policy::{
    Actor, BoundSet, DecisionRecord, Policy, PolicySet, PolicySetVersion, PolicyVersion,
    SchemaVersion, TargetType,
};
use crate::page::{ListFilter, Page, PageRequest};
use crate::time::Timestamp;

/// Filters of a policy-set list beyond the common ones.
#[derive(Debug, Clone, Default)]
pub struct PolicySetFilter {
    pub list: ListFilter,
    /// `filter[active]`: has (true) or has not (false) an active binding.
    pub active: Option<bool>,
    /// `filter[target_type]`; empty means any.
    pub target_types: Vec<TargetType>,
}

/// Filters of the decision log.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    /// `allow` or `deny`.
    pub decision: Option<String>,
    /// A principal's public id (application or user, as principal or subject).
    pub principal: Option<String>,
    pub resource: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Which binding of a set a version takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// Enforced; replaces the set's previous active version.
    Active,
    /// Evaluated and recorded only.
    Shadow,
}

/// Who archives an object, and when.
#[derive(Debug, Clone)]
pub struct Archival {
    pub at: Timestamp,
    pub by: Actor,
}

/// A platform set to seed into a zone: the set, its policies with one version each, and the set
/// version (manifest) bound as active.
#[derive(Debug, Clone)]
pub struct PolicySeed {
    pub set: PolicySet,
    pub policies: Vec<(Policy, PolicyVersion)>,
    pub version: PolicySetVersion,
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Every schema version, newest version string first.
    async fn list_schema_versions(&self) -> StoreResult<Vec<SchemaVersion>>;
    async fn get_schema_version(&self, version: &str) -> StoreResult<Option<SchemaVersion>>;
    /// The zone's default schema version, if one was set.
    async fn zone_default_schema(&self, zone: &ZoneId) -> StoreResult<Option<String>>;
    async fn set_zone_default_schema(&self, zone: &ZoneId, version: &str) -> StoreResult<()>;

    async fn create_policy(&self, policy: &Policy) -> StoreResult<()>;
    async fn get_policy(&self, zone: &ZoneId, id: &PolicyId) -> StoreResult<Option<Policy>>;
    /// Fields: `id`, `name`, `description`, `owner_type`.
    async fn list_policies(
        &self,
        zone: &ZoneId,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Policy>>;
    /// Saves name, description, `updated_*` and `archived_*`.
    /// With `unchanged_since`, only while the stored `updated_at` is still that (else `Stale`).
    async fn update_policy(
        &self,
        policy: &Policy,
        unchanged_since: Option<Timestamp>,
    ) -> StoreResult<()>;

    /// Inserts `version` under the next number of its policy and makes it the policy's latest
    /// (`latest_version`, `latest_version_id`, `latest_schema_version`), in one transaction;
    /// returns it numbered. `NotFound` when the policy is gone.
    async fn add_policy_version(&self, version: PolicyVersion) -> StoreResult<PolicyVersion>;
    async fn get_policy_version(
        &self,
        zone: &ZoneId,
        id: &PolicyVersionId,
    ) -> StoreResult<Option<PolicyVersion>>;
    /// The versions of `policy` (all policies when `None`); `filter.ids` selects by id.
    async fn list_policy_versions(
        &self,
        zone: &ZoneId,
        policy: Option<&PolicyId>,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<PolicyVersion>>;
    async fn archive_policy_version(
        &self,
        zone: &ZoneId,
        id: &PolicyVersionId,
        archival: &Archival,
    ) -> StoreResult<bool>;

    async fn create_policy_set(&self, set: &PolicySet) -> StoreResult<()>;
    async fn get_policy_set(
        &self,
        zone: &ZoneId,
        id: &PolicySetId,
    ) -> StoreResult<Option<PolicySet>>;
    /// Sortable by `created_at` and `status` (bound first, then newest).
    async fn list_policy_sets(
        &self,
        zone: &ZoneId,
        filter: &PolicySetFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<PolicySet>>;
    /// Saves name, `updated_*`, `archived_*` (an archived set loses its bindings). With
    /// `unchanged_since`, only while the stored `updated_at` is still that (else `Stale`).
    async fn update_policy_set(
        &self,
        set: &PolicySet,
        unchanged_since: Option<Timestamp>,
    ) -> StoreResult<()>;

    /// Inserts `version` under the next number of its set and makes it the set's latest, in one
    /// transaction; returns it numbered. A `version.version` above 0 is a condition: when the
    /// next number is another, nothing is written and the answer is `Conflict`.
    async fn add_policy_set_version(
        &self,
        version: PolicySetVersion,
    ) -> StoreResult<PolicySetVersion>;
    async fn get_policy_set_version(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
    ) -> StoreResult<Option<PolicySetVersion>>;
    async fn list_policy_set_versions(
        &self,
        zone: &ZoneId,
        set: &PolicySetId,
        page: &PageRequest,
    ) -> StoreResult<Page<PolicySetVersion>>;
    /// Replaces a version's attestation (re-signing after a key rotation).
    async fn set_attestation(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
        statement: &serde_json::Value,
        jws: &str,
    ) -> StoreResult<()>;
    async fn archive_policy_set_version(
        &self,
        zone: &ZoneId,
        id: &PolicySetVersionId,
        archival: &Archival,
    ) -> StoreResult<bool>;
    /// Binds `version` (None: unbinds) as the set's `mode` version for `target_id`, in one
    /// statement, so a reader sees the old binding or the new one, never none.
    async fn bind_policy_set(
        &self,
        zone: &ZoneId,
        set: &PolicySetId,
        version: Option<&PolicySetVersionId>,
        mode: BindMode,
        target_id: &str,
    ) -> StoreResult<()>;
    /// Every bound, unarchived set of the zone with target type `zone`, with its active and
    /// shadow versions and their pinned policy versions, in manifest order.
    async fn bound_sets(&self, zone: &ZoneId) -> StoreResult<Vec<BoundSet>>;
    /// Just the bindings of [`Self::bound_sets`] of each of `zones` that has any, in the same
    /// order: `(set version id, active)` (a few small reads whatever the number of zones, for
    /// noticing that a binding moved).
    async fn bindings_of(
        &self,
        zones: &[ZoneId],
    ) -> StoreResult<std::collections::HashMap<ZoneId, Vec<(String, bool)>>>;

    /// Inserts `seed` unless its zone already has a platform set of that name, in one
    /// transaction; whether it was inserted.
    async fn seed_policy_set(&self, seed: &PolicySeed) -> StoreResult<bool>;
    /// Zones without a platform set named `name`.
    async fn zones_without_policy_set(&self, name: &str) -> StoreResult<Vec<ZoneId>>;

    /// Appends decisions to the log (one statement per batch).
    async fn record_decisions(&self, rows: &[DecisionRecord]) -> StoreResult<()>;
    /// The zone's decisions, newest first by default.
    async fn list_decisions(
        &self,
        zone: &ZoneId,
        filter: &DecisionFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<DecisionRecord>>;
    /// Deletes decisions older than `before`; how many.
    async fn purge_decisions(&self, before: Timestamp) -> StoreResult<u64>;
}
