//! Compiled Cedar policy per zone, and parsed schema versions, kept in memory so that no token
//! reads policy data from the database. A zone's entry is its bound sets (the active zone set
//! and any shadow sets), compiled once per set version. Activation on this instance swaps the
//! entry at once ([`PolicyCache::forget`]) and tells the other instances (`changes`); should a
//! notice be lost, they still notice within [`RECHECK_AFTER`]: a background task
//! ([`PolicyCache::start_rechecks`]) reads the bindings of every compiled zone in a few reads
//! (not one per zone) and drops the entries whose bindings moved, to be recompiled on next use.
//! A token never waits for a recheck; a zone with no entry is compiled by one request while the
//! others wait for it (no stampede after an activation).
//!
//! Decisions are memoised: Cedar is a pure function of the policies, the entities and the
//! request, and an [`Issuance`] carries all of the latter two, so an issuance already decided by
//! the same compiled policies is answered from the zone entry's memo
//! ([`ZonePolicies::decide`]) without evaluating again. A recompiled entry starts with an empty
//! memo, so an activation never meets an old answer.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_domain::StoreError;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::policy::{BoundSet, PolicySet, PolicySetVersion, SchemaStatus};
use latchkey_domain::store::Store;
use latchkey_policy::authorize::{ScopedDecision, authorize_issuance};
use latchkey_policy::compile::{CompiledSet, PolicyEntry, SetVersionInput, compile};
use latchkey_policy::issuance::Issuance;
use latchkey_policy::schema::{self, SchemaVersion};

use crate::changes::Changes;
use crate::sharded_map::ShardedMap;

/// How often every compiled zone's bindings are checked against the store. A backstop only
/// (activations here and notices from other instances act at once); one recheck reads the
/// bindings of up to 500 zones per statement.
pub const RECHECK_AFTER: Duration = Duration::from_secs(10);
/// Memoised decisions kept per zone entry; a full memo is emptied and starts again.
const MEMO_ENTRIES: usize = 4_096;

type Memo = Arc<Mutex<HashMap<Issuance, Arc<Outcome>, foldhash::fast::RandomState>>>;

/// What a zone's bound sets decided for one issuance.
#[derive(Debug)]
pub struct Outcome {
    /// The active set's decision.
    pub active: ScopedDecision,
    /// The first shadow set that decided otherwise (its index in [`ZonePolicies::shadow`]).
    pub shadow: Option<(usize, ScopedDecision)>,
}

/// What decides issuance in a zone.
#[derive(Debug)]
pub struct ZonePolicies {
    /// The active zone set; `None` fails closed.
    pub active: Option<CompiledSet>,
    /// Sets bound in shadow mode: evaluated and recorded, never enforced.
    pub shadow: Vec<CompiledSet>,
    /// Set versions that could not be compiled (logged; an active one leaves `active` empty).
    pub broken: Vec<String>,
    /// `(set version id, active)` of every binding, to notice a moved binding cheaply.
    fingerprint: Vec<(String, bool)>,
    /// Decisions made with exactly these compiled sets.
    memo: Memo,
}

impl ZonePolicies {
    /// What the bound sets decide for `ask`, memoised per compilation; `None` when the zone has
    /// no active set (fail closed).
    pub fn decide(&self, ask: &Issuance) -> Option<Arc<Outcome>> {
        let active = self.active.as_ref()?;
        if let Some(hit) = self.memo.lock().ok().and_then(|m| m.get(ask).cloned()) {
            return Some(hit);
        }
        let outcome = Arc::new(self.evaluate(active, ask));
        if let Ok(mut memo) = self.memo.lock() {
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            memo.insert(ask.clone(), outcome.clone());
        }
        Some(outcome)
    }

    /// Evaluates `ask` against the active set and every shadow set (no memo).
    fn evaluate(&self, active: &CompiledSet, ask: &Issuance) -> Outcome {
        let decision = authorize_issuance(active, ask);
        let shadow = self
            .shadow
            .iter()
            .enumerate()
            .map(|(i, sh)| (i, authorize_issuance(sh, ask)))
            .find(|(_, d)| d.allowed != decision.allowed);
        Outcome {
            active: decision,
            shadow,
        }
    }
}

pub struct PolicyCache {
    schemas: moka::sync::Cache<String, Arc<SchemaVersion>>,
    zones: ShardedMap<ZoneId, Arc<ZonePolicies>>,
    /// One compilation at a time per zone.
    compiling: moka::sync::Cache<ZoneId, Arc<tokio::sync::Mutex<()>>>,
    rechecks_started: AtomicBool,
}

impl Default for PolicyCache {
    fn default() -> Self {
        Self {
            schemas: moka::sync::Cache::new(64),
            zones: ShardedMap::new(100_000),
            compiling: moka::sync::Cache::new(10_000),
            rechecks_started: AtomicBool::new(false),
        }
    }
}

fn status(s: SchemaStatus) -> schema::SchemaStatus {
    match s {
        SchemaStatus::Active => schema::SchemaStatus::Active,
        SchemaStatus::Deprecated => schema::SchemaStatus::Deprecated,
        SchemaStatus::Archived => schema::SchemaStatus::Archived,
    }
}

fn fingerprint(bound: &[BoundSet]) -> Vec<(String, bool)> {
    bound
        .iter()
        .map(|b| (b.version.id.as_str().to_owned(), b.active))
        .collect()
}

fn input(b: &BoundSet) -> SetVersionInput {
    SetVersionInput {
        set_id: b.set.id.as_str().to_owned(),
        set_name: b.set.name.clone(),
        version: u32::try_from(b.version.version).unwrap_or(u32::MAX),
        entries: b
            .policies
            .iter()
            .map(|(p, v)| PolicyEntry {
                policy_id: p.id.as_str().to_owned(),
                policy_name: p.name.clone(),
                policy_version: u32::try_from(v.version).unwrap_or(u32::MAX),
                text: v.cedar_raw.clone(),
            })
            .collect(),
    }
}

impl PolicyCache {
    /// The parsed schema version `version` (None when the store has no such version).
    pub async fn schema(
        &self,
        store: &dyn Store,
        version: &str,
    ) -> Result<Option<Arc<SchemaVersion>>, StoreError> {
        if let Some(hit) = self.schemas.get(version) {
            return Ok(Some(hit));
        }
        let Some(row) = store.get_schema_version(version).await? else {
            return Ok(None);
        };
        let parsed = SchemaVersion::parse(&row.version, status(row.status), &row.cedar)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let parsed = Arc::new(parsed);
        self.schemas.insert(version.to_owned(), parsed.clone());
        Ok(Some(parsed))
    }

    /// The zone's compiled policy (compiled on first use; [`Self::recheck`] and change notices
    /// drop it when a binding moves).
    pub async fn zone(
        &self,
        store: &dyn Store,
        zone: &ZoneId,
    ) -> Result<Arc<ZonePolicies>, StoreError> {
        match self.zones.read(zone, |hit| Some(hit.clone())) {
            Some(hit) => Ok(hit),
            None => self.compile_once(store, zone).await,
        }
    }

    /// Checks every compiled zone's bindings against the store (a few reads, whatever the
    /// number of zones) and drops the entries whose bindings moved, answering their zones: the
    /// backstop for a change notice that never arrived. An entry compiled meanwhile may be
    /// dropped too; it is then compiled again, never served stale.
    async fn recheck(&self, store: &dyn Store) -> Result<Vec<ZoneId>, StoreError> {
        let cached = self.zones.snapshot();
        let zones: Vec<ZoneId> = cached.iter().map(|(z, _)| z.clone()).collect();
        let current = store.bindings_of(&zones).await?;
        let mut moved = Vec::new();
        for (zone, entry) in cached {
            let now = current.get(&zone).map_or(&[][..], Vec::as_slice);
            if entry.fingerprint != now {
                self.zones.remove(&zone);
                moved.push(zone);
            }
        }
        Ok(moved)
    }

    /// [`Self::recheck`], then moves the epoch of every zone whose bindings moved (`changes`),
    /// which hides what was decided with the dropped entries (issuance plans). The only way to
    /// recheck: dropping compiled policy without moving the epoch would leave plans standing.
    pub async fn recheck_and_tell(
        &self,
        store: &dyn Store,
        changes: &Changes,
    ) -> Result<Vec<ZoneId>, StoreError> {
        let moved = self.recheck(store).await?;
        for zone in &moved {
            changes.bump(zone);
        }
        Ok(moved)
    }

    /// Runs [`Self::recheck_and_tell`] every [`RECHECK_AFTER`] (once; later calls do nothing).
    pub fn start_rechecks(self: &Arc<Self>, store: Arc<dyn Store>, changes: Arc<Changes>) {
        let cache = self.clone();
        crate::periodic::every(&self.rechecks_started, RECHECK_AFTER, move || {
            let (cache, store, changes) = (cache.clone(), store.clone(), changes.clone());
            async move {
                match cache.recheck_and_tell(store.as_ref(), &changes).await {
                    Ok(moved) if !moved.is_empty() => {
                        tracing::info!(
                            zones = moved.len(),
                            "policy bindings moved without a notice"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "policy bindings not rechecked"),
                }
            }
        });
    }

    /// Compiles the zone's entry unless a concurrent request just did (they wait for it).
    async fn compile_once(
        &self,
        store: &dyn Store,
        zone: &ZoneId,
    ) -> Result<Arc<ZonePolicies>, StoreError> {
        let lock = self
            .compiling
            .get_with(zone.clone(), || Arc::new(tokio::sync::Mutex::new(())));
        let _turn = lock.lock().await;
        if let Some(hit) = self.zones.read(zone, |hit| Some(hit.clone())) {
            return Ok(hit);
        }
        let bound = store.bound_sets(zone).await?;
        let fresh = Arc::new(self.compile_zone(store, &bound).await?);
        self.zones.insert(zone.clone(), fresh.clone(), |_| false);
        Ok(fresh)
    }

    async fn compile_zone(
        &self,
        store: &dyn Store,
        bound: &[BoundSet],
    ) -> Result<ZonePolicies, StoreError> {
        let mut out = ZonePolicies {
            active: None,
            shadow: Vec::new(),
            broken: Vec::new(),
            fingerprint: fingerprint(bound),
            memo: Memo::default(),
        };
        for b in bound {
            let compiled = match self.schema(store, &b.version.schema_version).await? {
                Some(schema) => compile(&input(b), schema).map_err(|e| e.to_string()),
                None => Err(format!("unknown schema `{}`", b.version.schema_version)),
            };
            match (compiled, b.active) {
                (Ok(set), true) => out.active = Some(set),
                (Ok(set), false) => out.shadow.push(set),
                (Err(why), _) => {
                    tracing::error!(set = %b.set.id, version = %b.version.id, why, "policy set version does not compile");
                    out.broken.push(b.version.id.as_str().to_owned());
                }
            }
        }
        Ok(out)
    }

    /// Compiles any version of a set (a dry run), reading its pinned policies from the store.
    pub async fn compile_version(
        &self,
        store: &dyn Store,
        set: &PolicySet,
        version: &PolicySetVersion,
    ) -> Result<Result<CompiledSet, String>, StoreError> {
        let mut policies = Vec::with_capacity(version.manifest.len());
        for e in &version.manifest {
            let policy = store.get_policy(&set.zone_id, &e.policy_id).await?;
            let pinned = store
                .get_policy_version(&set.zone_id, &e.policy_version_id)
                .await?;
            match (policy, pinned) {
                (Some(p), Some(v)) => policies.push((p, v)),
                _ => {
                    return Ok(Err(format!(
                        "policy version `{}` is gone",
                        e.policy_version_id
                    )));
                }
            }
        }
        let bound = BoundSet {
            set: set.clone(),
            version: version.clone(),
            policies,
            active: false,
        };
        Ok(match self.schema(store, &version.schema_version).await? {
            Some(schema) => compile(&input(&bound), schema).map_err(|e| e.to_string()),
            None => Err(format!("unknown schema `{}`", version.schema_version)),
        })
    }

    /// Drops the zone's entry (after a binding moved).
    pub fn forget(&self, zone: &ZoneId) {
        self.zones.remove(zone);
    }

    /// Drops every zone's entry (change notices may have been lost).
    pub fn forget_all(&self) {
        self.zones.clear();
    }
}
