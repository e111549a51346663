//! Policy sets, their immutable versions and their bindings. A binding (the set's active or
//! shadow version, for `target_id`) is two columns of the set row and moves in one `UPDATE`, which
//! also checks that the version belongs to that set, so a reader sees the old binding or the new
//! one and a set can only ever point at its own versions.

use latchkey_domain::id::{PolicySetId, PolicySetVersionId, ZoneId};
use latchkey_domain::model::policy::{PolicySet, PolicySetVersion, TargetType};
use latchkey_domain::store::{BindMode, PolicySetFilter};
use latchkey_domain::{Page, PageRequest, SortKey, StoreError, Timestamp};

use crate::Db;
use crate::error::OrStore;
use crate::policies::next_number;
use crate::policy_rows::{
    POLICY_SETS, SET_VERSIONS, insert_set, insert_set_version, set_changes, set_from_row,
    set_version_from_row,
};
use crate::sql::{Arg, Filter, Sql, get_one, json, list_page, touched, update_row};

pub(crate) async fn create(db: &Db, set: &PolicySet) -> Result<(), StoreError> {
    let mut conn = db.pool().acquire().await.store()?;
    insert_set(&mut conn, set).await
}

pub(crate) async fn get(
    db: &Db,
    zone: &ZoneId,
    id: &PolicySetId,
) -> Result<Option<PolicySet>, StoreError> {
    get_one(db.pool(), &POLICY_SETS, zone, id.as_str(), set_from_row).await
}

/// `sort=status` means bound sets first, then by creation time in the same direction: a `status`
/// key not followed by `created_at` gets it added.
fn with_status_tiebreak(page: &PageRequest) -> PageRequest {
    let mut page = page.clone();
    if let Some(i) = page.sort.iter().position(|k| k.field == "status")
        && !page.sort.iter().any(|k| k.field == "created_at")
    {
        let desc = page.sort[i].desc;
        page.sort.insert(
            i + 1,
            SortKey {
                field: "created_at",
                desc,
            },
        );
    }
    page
}

pub(crate) async fn list(
    db: &Db,
    zone: &ZoneId,
    filter: &PolicySetFilter,
    page: &PageRequest,
) -> Result<Page<PolicySet>, StoreError> {
    let mut f = Filter::default().eq("zone_id", zone.as_str());
    match filter.active {
        Some(true) => f = f.raw("active_version_id IS NOT NULL", Vec::new()),
        Some(false) => f = f.raw("active_version_id IS NULL", Vec::new()),
        None => {}
    }
    if !filter.target_types.is_empty() {
        let types: Vec<String> = filter
            .target_types
            .iter()
            .map(|t| TargetType::as_str(*t).to_owned())
            .collect();
        f = f.in_list("target_type", &types);
    }
    let f = POLICY_SETS.apply(db.backend(), f, &filter.list)?;
    let page = with_status_tiebreak(page);
    list_page(db.pool(), &POLICY_SETS, &f, &page, set_from_row).await
}

/// Saves name, `updated_*` and `archived_*`; an archived set loses both bindings.
pub(crate) async fn update(
    db: &Db,
    set: &PolicySet,
    unchanged_since: Option<Timestamp>,
) -> Result<(), StoreError> {
    let mut changes = set_changes(set);
    if set.archived_at.is_some() {
        changes.push(("active_version_id", Arg::OptText(None)));
        changes.push(("shadow_version_id", Arg::OptText(None)));
    }
    let mut keys: Vec<(&str, Arg)> = vec![
        ("zone_id", set.zone_id.as_str().into()),
        ("id", set.id.as_str().into()),
    ];
    if let Some(at) = unchanged_since {
        keys.push(("updated_at", at.millis().into()));
    }
    if !touched(db.pool(), &update_row("policy_sets", changes, keys)).await? {
        let what = format!("policy set `{}`", set.id);
        return Err(match unchanged_since {
            Some(_) => StoreError::Stale(what),
            None => StoreError::NotFound(what),
        });
    }
    Ok(())
}

/// Numbers `version` after its set's latest and makes it the latest, in one transaction.
pub(crate) async fn add_version(
    db: &Db,
    mut version: PolicySetVersion,
) -> Result<PolicySetVersion, StoreError> {
    let expected = version.version;
    let mut w = db.write().await?;
    version.version = next_number(
        &mut w.tx,
        "policy_sets",
        &version.zone_id,
        version.policy_set_id.as_str(),
        version.id.as_str(),
        None,
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("policy set `{}`", version.policy_set_id)))?;
    if expected > 0 && expected != version.version {
        // A caller that names the number expects no one else to have added a version since it
        // read the set (a conditional write); the transaction is rolled back on drop.
        return Err(StoreError::Conflict(format!(
            "policy set `{}` has changed: version {expected} is taken",
            version.policy_set_id
        )));
    }
    insert_set_version(&mut w.tx, &version).await?;
    w.commit().await?;
    Ok(version)
}

pub(crate) async fn get_version(
    db: &Db,
    zone: &ZoneId,
    id: &PolicySetVersionId,
) -> Result<Option<PolicySetVersion>, StoreError> {
    get_one(
        db.pool(),
        &SET_VERSIONS,
        zone,
        id.as_str(),
        set_version_from_row,
    )
    .await
}

pub(crate) async fn list_versions(
    db: &Db,
    zone: &ZoneId,
    set: &PolicySetId,
    page: &PageRequest,
) -> Result<Page<PolicySetVersion>, StoreError> {
    let f = Filter::default()
        .eq("zone_id", zone.as_str())
        .eq("policy_set_id", set.as_str());
    list_page(db.pool(), &SET_VERSIONS, &f, page, set_version_from_row).await
}

pub(crate) async fn set_attestation(
    db: &Db,
    zone: &ZoneId,
    id: &PolicySetVersionId,
    statement: &serde_json::Value,
    jws: &str,
) -> Result<(), StoreError> {
    let set = vec![
        ("attestation", json(Some(statement))),
        ("attestation_jws", jws.into()),
    ];
    let keys = vec![
        ("zone_id", zone.as_str().into()),
        ("id", id.as_str().into()),
    ];
    if !touched(db.pool(), &update_row("policy_set_versions", set, keys)).await? {
        return Err(StoreError::NotFound(format!("policy set version `{id}`")));
    }
    Ok(())
}

/// Moves the `mode` binding of `set` to `version` (for `target_id`), or clears it. Binding needs
/// an unarchived set and an unarchived version of that very set. A zone has one active zone set:
/// activating a zone set's version unbinds the active version of every other zone set, in the
/// same transaction.
pub(crate) async fn bind(
    db: &Db,
    zone: &ZoneId,
    set: &PolicySetId,
    version: Option<&PolicySetVersionId>,
    mode: BindMode,
    target_id: &str,
) -> Result<(), StoreError> {
    let column = match mode {
        BindMode::Active => "active_version_id",
        BindMode::Shadow => "shadow_version_id",
    };
    let mut sql = Sql::new(format!("UPDATE policy_sets SET {column} = "));
    sql.bind(version.map(|v| v.as_str().to_owned()));
    if let Some(v) = version {
        sql.push(", target_id = ").bind(target_id);
        sql.push(" WHERE zone_id = ").bind(zone.as_str());
        sql.push(" AND id = ").bind(set.as_str());
        sql.push(" AND archived_at IS NULL AND EXISTS (SELECT 1 FROM policy_set_versions v WHERE v.zone_id = ")
            .bind(zone.as_str())
            .push(" AND v.policy_set_id = ")
            .bind(set.as_str())
            .push(" AND v.id = ")
            .bind(v.as_str())
            .push(" AND v.archived_at IS NULL)");
    } else {
        sql.push(" WHERE zone_id = ").bind(zone.as_str());
        sql.push(" AND id = ").bind(set.as_str());
    }
    let mut w = db.write().await?;
    if touched(&mut *w.tx, &sql).await? {
        if mode == BindMode::Active && version.is_some() {
            demote_other_zone_sets(&mut w.tx, zone, set).await?;
        }
        return w.commit().await;
    }
    Err(StoreError::NotFound(match version {
        Some(v) => format!("unarchived policy set `{set}` with unarchived version `{v}`"),
        None => format!("policy set `{set}`"),
    }))
}

/// Clears the active binding of the zone's other zone-target sets when `set` is a zone set.
async fn demote_other_zone_sets(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    zone: &ZoneId,
    set: &PolicySetId,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE policy_sets SET active_version_id = NULL WHERE zone_id = ");
    sql.bind(zone.as_str());
    sql.push(" AND id <> ").bind(set.as_str());
    sql.push(" AND target_type = 'zone' AND active_version_id IS NOT NULL");
    sql.push(" AND EXISTS (SELECT 1 FROM policy_sets s WHERE s.zone_id = ")
        .bind(zone.as_str())
        .push(" AND s.id = ")
        .bind(set.as_str())
        .push(" AND s.target_type = 'zone')");
    touched(&mut **tx, &sql).await?;
    Ok(())
}
