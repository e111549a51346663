//! What the policy engine reads and what the platform seeds: a zone's bound sets with their
//! pinned policy versions (four queries whatever the number of sets), the seeded platform set
//! (one transaction, once per zone and name) and the zones still missing it.

use std::collections::HashMap;

use latchkey_domain::StoreError;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::policy::{
    BoundSet, Policy, PolicySet, PolicySetVersion, PolicyVersion, TargetType,
};
use latchkey_domain::store::PolicySeed;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Db;
use crate::error::OrStore;
use crate::policy_rows::{
    POLICIES, POLICY_SETS, POLICY_VERSIONS, SET_VERSIONS, insert_policy, insert_policy_version,
    insert_set, insert_set_version, policy_from_row, set_from_row, set_version_from_row,
    version_from_row,
};
use crate::sql::{Filter, Sql, TableSpec};

/// The rows of `spec` in `zone` whose id is in `ids`, by id.
async fn by_ids<T>(
    db: &Db,
    spec: &TableSpec,
    zone: &ZoneId,
    mut ids: Vec<String>,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
    id: fn(&T) -> String,
) -> Result<HashMap<String, T>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    ids.sort();
    ids.dedup();
    let mut sql = Sql::new(format!("SELECT {} FROM {}", spec.columns, spec.table));
    Filter::default()
        .eq("zone_id", zone.as_str())
        .in_list("id", &ids)
        .write(&mut sql, None);
    let rows = sql.query().fetch_all(db.pool()).await.store()?;
    rows.iter()
        .map(|r| map(r).map(|t| (id(&t), t)))
        .collect::<Result<_, _>>()
        .store()
}

/// The zone's unarchived zone-target sets with an active or shadow binding, oldest first.
async fn bound_set_rows(db: &Db, zone: &ZoneId) -> Result<Vec<PolicySet>, StoreError> {
    bound_set_rows_in(db, Filter::default().eq("zone_id", zone.as_str())).await
}

/// [`bound_set_rows`] of the zones `zone` selects, oldest first.
async fn bound_set_rows_in(db: &Db, zone: Filter) -> Result<Vec<PolicySet>, StoreError> {
    let mut sql = Sql::new(format!("SELECT {} FROM policy_sets", POLICY_SETS.columns));
    zone.eq("target_type", TargetType::Zone.as_str())
        .raw(
            "archived_at IS NULL AND (active_version_id IS NOT NULL OR shadow_version_id IS NOT NULL)",
            Vec::new(),
        )
        .write(&mut sql, None);
    sql.push(" ORDER BY created_at, id");
    let rows = sql.query().fetch_all(db.pool()).await.store()?;
    rows.iter()
        .map(set_from_row)
        .collect::<Result<_, _>>()
        .store()
}

fn missing(what: &str, id: &str) -> StoreError {
    StoreError::Backend(format!(
        "bound policy data is inconsistent: {what} `{id}` is missing"
    ))
}

/// The pinned policy versions of `version` with their policies, in manifest order.
fn pinned(
    version: &PolicySetVersion,
    versions: &HashMap<String, PolicyVersion>,
    policies: &HashMap<String, Policy>,
) -> Result<Vec<(Policy, PolicyVersion)>, StoreError> {
    let mut out = Vec::with_capacity(version.manifest.len());
    for entry in &version.manifest {
        let pv_id = entry.policy_version_id.as_str();
        let pv = versions
            .get(pv_id)
            .ok_or_else(|| missing("policy version", pv_id))?;
        let p_id = pv.policy_id.as_str();
        let policy = policies.get(p_id).ok_or_else(|| missing("policy", p_id))?;
        out.push((policy.clone(), pv.clone()));
    }
    Ok(out)
}

/// One `BoundSet` per binding (active, then shadow, per set), policies in manifest order.
/// Each set's active binding, then its shadow binding: `(set, version id, active)`.
fn binding_list(sets: &[PolicySet]) -> Vec<(&PolicySet, &str, bool)> {
    sets.iter()
        .flat_map(|s| {
            let active = s.active_version_id.as_ref().map(|v| (s, v.as_str(), true));
            let shadow = s.shadow_version_id.as_ref().map(|v| (s, v.as_str(), false));
            active.into_iter().chain(shadow)
        })
        .collect()
}

/// The bindings of [`bound_sets`] of each of `zones` that has any, in its order, from one read
/// per [`ZONES_PER_READ`] zones.
pub(crate) async fn bindings_of(
    db: &Db,
    zones: &[ZoneId],
) -> Result<HashMap<ZoneId, Vec<(String, bool)>>, StoreError> {
    let mut out: HashMap<ZoneId, Vec<(String, bool)>> = HashMap::new();
    for chunk in zones.chunks(ZONES_PER_READ) {
        let ids: Vec<String> = chunk.iter().map(|z| z.as_str().to_owned()).collect();
        let sets = bound_set_rows_in(db, Filter::default().in_list("zone_id", &ids)).await?;
        for (set, version, active) in binding_list(&sets) {
            out.entry(set.zone_id.clone())
                .or_default()
                .push((version.to_owned(), active));
        }
    }
    Ok(out)
}

/// Zones per read of [`bindings_of`] (well under either back end's bound-parameter limit).
const ZONES_PER_READ: usize = 500;

pub(crate) async fn bound_sets(db: &Db, zone: &ZoneId) -> Result<Vec<BoundSet>, StoreError> {
    let sets = bound_set_rows(db, zone).await?;
    let bindings = binding_list(&sets);
    let ids = bindings.iter().map(|(_, v, _)| (*v).to_owned()).collect();
    let set_versions = by_ids(db, &SET_VERSIONS, zone, ids, set_version_from_row, |v| {
        v.id.to_string()
    })
    .await?;
    let ids = set_versions
        .values()
        .flat_map(|v| v.manifest.iter().map(|e| e.policy_version_id.to_string()))
        .collect();
    let versions = by_ids(db, &POLICY_VERSIONS, zone, ids, version_from_row, |v| {
        v.id.to_string()
    })
    .await?;
    let ids = versions.values().map(|v| v.policy_id.to_string()).collect();
    let policies = by_ids(db, &POLICIES, zone, ids, policy_from_row, |p| {
        p.id.to_string()
    })
    .await?;
    let mut out = Vec::with_capacity(bindings.len());
    for (set, vid, active) in bindings {
        let version = set_versions
            .get(vid)
            .ok_or_else(|| missing("policy set version", vid))?;
        out.push(BoundSet {
            set: set.clone(),
            policies: pinned(version, &versions, &policies)?,
            version: version.clone(),
            active,
        });
    }
    Ok(out)
}

/// Whether `zone` has a platform-owned set named `name` (archived or not), inside `conn`.
async fn has_platform_set(
    conn: &mut sqlx::AnyConnection,
    zone: &ZoneId,
    name: &str,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("SELECT 1 AS one FROM policy_sets");
    Filter::default()
        .eq("zone_id", zone.as_str())
        .eq("owner_type", OwnerType::Platform.as_str())
        .eq("name", name)
        .write(&mut sql, None);
    sql.push(" LIMIT 1");
    Ok(sql
        .query()
        .fetch_optional(&mut *conn)
        .await
        .store()?
        .is_some())
}

/// The seed made consistent: each policy's `latest_*` is its version, the set's latest and
/// active version is the seeded version, bound for the zone.
fn consistent(seed: &PolicySeed) -> (PolicySet, Vec<Policy>) {
    let mut set = seed.set.clone();
    set.latest_version = Some(seed.version.version);
    set.latest_version_id = Some(seed.version.id.clone());
    set.active_version_id = Some(seed.version.id.clone());
    set.target_id = Some(
        set.target_id
            .clone()
            .unwrap_or_else(|| set.zone_id.to_string()),
    );
    let policies = seed
        .policies
        .iter()
        .map(|(p, v)| {
            let mut p = p.clone();
            p.latest_version = Some(v.version);
            p.latest_version_id = Some(v.id.clone());
            p.latest_schema_version = Some(v.schema_version.clone());
            p
        })
        .collect();
    (set, policies)
}

/// Inserts the seed unless its zone already has a platform set of that name; whether it did.
/// PostgreSQL serialises seeders of one zone and name with an advisory lock; SQLite's writers
/// are serialised already.
pub(crate) async fn seed(db: &Db, seed: &PolicySeed) -> Result<bool, StoreError> {
    let zone = &seed.set.zone_id;
    let mut w = db.write().await?;
    db.lock_scope(
        &mut w.tx,
        &format!("policy_sets.seed:{zone}:{}", seed.set.name),
    )
    .await?;
    if has_platform_set(&mut w.tx, zone, &seed.set.name).await? {
        return Ok(false);
    }
    let (set, policies) = consistent(seed);
    insert_set(&mut w.tx, &set).await?;
    for (policy, (_, version)) in policies.iter().zip(&seed.policies) {
        insert_policy(&mut w.tx, policy).await?;
        insert_policy_version(&mut w.tx, version).await?;
    }
    insert_set_version(&mut w.tx, &seed.version).await?;
    w.commit().await?;
    Ok(true)
}

/// Zones without a platform-owned set named `name` (archived or not), oldest first.
pub(crate) async fn zones_without(db: &Db, name: &str) -> Result<Vec<ZoneId>, StoreError> {
    let mut sql = Sql::new(
        "SELECT id FROM zones z WHERE NOT EXISTS (SELECT 1 FROM policy_sets s \
         WHERE s.zone_id = z.id AND s.owner_type = 'platform' AND s.name = ",
    );
    sql.bind(name).push(") ORDER BY created_at, id");
    let rows = sql.query().fetch_all(db.pool()).await.store()?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("id").map(ZoneId::new))
        .collect::<Result<_, _>>()
        .store()
}
