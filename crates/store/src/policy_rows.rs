//! Rows of the Cedar policy tables: their columns and list specs, the mapping of a row to its
//! domain model, and the inserts shared by the single-object methods and the seed transaction.

use latchkey_domain::StoreError;
use latchkey_domain::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::policy::{
    Policy, PolicySet, PolicySetVersion, PolicyVersion, SchemaStatus, SchemaVersion, TargetType,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::OrStore;
use crate::sql::{Arg, SortKind, TableSpec, get_json, insert_row, json, opt_ts, parsed, ts};

pub(crate) const SCHEMA_COLUMNS: &str =
    "version, status, cedar, created_at, updated_at, deprecated_at, archived_at";

/// Sortable by creation time or by version number.
const BY_VERSION: &[(&str, &str, SortKind)] = &[
    ("created_at", "created_at", SortKind::Int),
    ("version", "version", SortKind::Int),
];

pub(crate) const POLICIES: TableSpec = TableSpec {
    table: "policies",
    columns: "zone_id, id, name, description, owner_type, latest_version, latest_version_id, \
        latest_schema_version, created_at, created_by, updated_at, updated_by, archived_at, \
        archived_by",
    sortable: crate::sql::BY_CREATED,
    fields: &[
        ("id", "id"),
        ("name", "name"),
        ("description", "description"),
        ("owner_type", "owner_type"),
    ],
};

pub(crate) const POLICY_VERSIONS: TableSpec = TableSpec {
    table: "policy_versions",
    columns: "zone_id, id, policy_id, version, schema_version, owner_type, cedar_raw, cedar_json, \
        sha, created_at, created_by, archived_at, archived_by",
    sortable: BY_VERSION,
    fields: &[
        ("id", "id"),
        ("policy_id", "policy_id"),
        ("schema_version", "schema_version"),
        ("owner_type", "owner_type"),
    ],
};

/// The expression behind `sort=status`: 1 for a set with an active binding, 0 otherwise.
pub(crate) const BOUND_EXPR: &str = "(CASE WHEN active_version_id IS NULL THEN 0 ELSE 1 END)";

pub(crate) const POLICY_SETS: TableSpec = TableSpec {
    table: "policy_sets",
    columns: "zone_id, id, name, owner_type, target_type, target_id, latest_version, \
        latest_version_id, active_version_id, shadow_version_id, created_at, created_by, \
        updated_at, updated_by, archived_at, archived_by",
    sortable: &[
        ("created_at", "created_at", SortKind::Int),
        ("status", BOUND_EXPR, SortKind::Int),
    ],
    fields: &[
        ("id", "id"),
        ("name", "name"),
        ("owner_type", "owner_type"),
        ("target_type", "target_type"),
    ],
};

pub(crate) const SET_VERSIONS: TableSpec = TableSpec {
    table: "policy_set_versions",
    columns: "zone_id, id, policy_set_id, version, schema_version, owner_type, manifest, \
        manifest_sha, attestation, attestation_jws, created_at, created_by, archived_at, \
        archived_by",
    sortable: BY_VERSION,
    fields: &[("id", "id"), ("owner_type", "owner_type")],
};

fn zone(row: &AnyRow) -> Result<ZoneId, sqlx::Error> {
    Ok(ZoneId::new(row.try_get::<String, _>("zone_id")?))
}

fn opt_id<T>(row: &AnyRow, column: &str, new: fn(String) -> T) -> Result<Option<T>, sqlx::Error> {
    Ok(row.try_get::<Option<String>, _>(column)?.map(new))
}

pub(crate) fn schema_from_row(row: &AnyRow) -> Result<SchemaVersion, sqlx::Error> {
    Ok(SchemaVersion {
        version: row.try_get("version")?,
        status: parsed(row, "status", SchemaStatus::parse)?,
        cedar: row.try_get("cedar")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
        deprecated_at: opt_ts(row, "deprecated_at")?,
        archived_at: opt_ts(row, "archived_at")?,
    })
}

pub(crate) fn policy_from_row(row: &AnyRow) -> Result<Policy, sqlx::Error> {
    Ok(Policy {
        zone_id: zone(row)?,
        id: PolicyId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        latest_version: row.try_get("latest_version")?,
        latest_version_id: opt_id(row, "latest_version_id", PolicyVersionId::new)?,
        latest_schema_version: row.try_get("latest_schema_version")?,
        created_at: ts(row, "created_at")?,
        created_by: row.try_get("created_by")?,
        updated_at: ts(row, "updated_at")?,
        updated_by: row.try_get("updated_by")?,
        archived_at: opt_ts(row, "archived_at")?,
        archived_by: row.try_get("archived_by")?,
    })
}

pub(crate) fn version_from_row(row: &AnyRow) -> Result<PolicyVersion, sqlx::Error> {
    Ok(PolicyVersion {
        zone_id: zone(row)?,
        id: PolicyVersionId::new(row.try_get::<String, _>("id")?),
        policy_id: PolicyId::new(row.try_get::<String, _>("policy_id")?),
        version: row.try_get("version")?,
        schema_version: row.try_get("schema_version")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        cedar_raw: row.try_get("cedar_raw")?,
        cedar_json: get_json(row, "cedar_json")?.unwrap_or_default(),
        sha: row.try_get("sha")?,
        created_at: ts(row, "created_at")?,
        created_by: row.try_get("created_by")?,
        archived_at: opt_ts(row, "archived_at")?,
        archived_by: row.try_get("archived_by")?,
    })
}

pub(crate) fn set_from_row(row: &AnyRow) -> Result<PolicySet, sqlx::Error> {
    Ok(PolicySet {
        zone_id: zone(row)?,
        id: PolicySetId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        target_type: parsed(row, "target_type", TargetType::parse)?,
        target_id: row.try_get("target_id")?,
        latest_version: row.try_get("latest_version")?,
        latest_version_id: opt_id(row, "latest_version_id", PolicySetVersionId::new)?,
        active_version_id: opt_id(row, "active_version_id", PolicySetVersionId::new)?,
        shadow_version_id: opt_id(row, "shadow_version_id", PolicySetVersionId::new)?,
        created_at: ts(row, "created_at")?,
        created_by: row.try_get("created_by")?,
        updated_at: ts(row, "updated_at")?,
        updated_by: row.try_get("updated_by")?,
        archived_at: opt_ts(row, "archived_at")?,
        archived_by: row.try_get("archived_by")?,
    })
}

pub(crate) fn set_version_from_row(row: &AnyRow) -> Result<PolicySetVersion, sqlx::Error> {
    Ok(PolicySetVersion {
        zone_id: zone(row)?,
        id: PolicySetVersionId::new(row.try_get::<String, _>("id")?),
        policy_set_id: PolicySetId::new(row.try_get::<String, _>("policy_set_id")?),
        version: row.try_get("version")?,
        schema_version: row.try_get("schema_version")?,
        owner_type: parsed(row, "owner_type", OwnerType::parse)?,
        manifest: get_json(row, "manifest")?.unwrap_or_default(),
        manifest_sha: row.try_get("manifest_sha")?,
        attestation: get_json(row, "attestation")?,
        attestation_jws: row.try_get("attestation_jws")?,
        created_at: ts(row, "created_at")?,
        created_by: row.try_get("created_by")?,
        archived_at: opt_ts(row, "archived_at")?,
        archived_by: row.try_get("archived_by")?,
    })
}

fn opt_millis(t: Option<latchkey_domain::Timestamp>) -> Arg {
    Arg::OptInt(t.map(|t| t.millis()))
}

fn opt_str<T: AsRef<str>>(v: Option<&T>) -> Arg {
    Arg::OptText(v.map(|v| v.as_ref().to_owned()))
}

/// The columns a policy update saves: name, description, `updated_*`, `archived_*`.
pub(crate) fn policy_changes(p: &Policy) -> Vec<(&'static str, Arg)> {
    vec![
        ("name", (&p.name).into()),
        ("description", (&p.description).into()),
        ("updated_at", p.updated_at.millis().into()),
        ("updated_by", (&p.updated_by).into()),
        ("archived_at", opt_millis(p.archived_at)),
        ("archived_by", (&p.archived_by).into()),
    ]
}

/// Inserts `p` as it is (its `latest_*` included), inside `conn`.
pub(crate) async fn insert_policy(
    conn: &mut sqlx::AnyConnection,
    p: &Policy,
) -> Result<(), StoreError> {
    let mut row = vec![
        ("zone_id", p.zone_id.as_str().into()),
        ("id", p.id.as_str().into()),
        ("owner_type", p.owner_type.as_str().into()),
        ("latest_version", p.latest_version.into()),
        ("latest_version_id", opt_str(p.latest_version_id.as_ref())),
        ("latest_schema_version", (&p.latest_schema_version).into()),
        ("created_at", p.created_at.millis().into()),
        ("created_by", (&p.created_by).into()),
    ];
    row.extend(policy_changes(p));
    let sql = insert_row("policies", row);
    sql.query().execute(&mut *conn).await.store()?;
    Ok(())
}

/// Inserts `v` with the number it carries, inside `conn`.
pub(crate) async fn insert_policy_version(
    conn: &mut sqlx::AnyConnection,
    v: &PolicyVersion,
) -> Result<(), StoreError> {
    let row = vec![
        ("zone_id", v.zone_id.as_str().into()),
        ("id", v.id.as_str().into()),
        ("policy_id", v.policy_id.as_str().into()),
        ("version", v.version.into()),
        ("schema_version", (&v.schema_version).into()),
        ("owner_type", v.owner_type.as_str().into()),
        ("cedar_raw", (&v.cedar_raw).into()),
        ("cedar_json", json(Some(&v.cedar_json))),
        ("sha", (&v.sha).into()),
        ("created_at", v.created_at.millis().into()),
        ("created_by", (&v.created_by).into()),
        ("archived_at", opt_millis(v.archived_at)),
        ("archived_by", (&v.archived_by).into()),
    ];
    insert_row("policy_versions", row)
        .query()
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

/// The columns a policy-set update saves: name, `updated_*`, `archived_*`.
pub(crate) fn set_changes(s: &PolicySet) -> Vec<(&'static str, Arg)> {
    vec![
        ("name", (&s.name).into()),
        ("updated_at", s.updated_at.millis().into()),
        ("updated_by", (&s.updated_by).into()),
        ("archived_at", opt_millis(s.archived_at)),
        ("archived_by", (&s.archived_by).into()),
    ]
}

/// Inserts `s` as it is (its `latest_*` and bindings included), inside `conn`.
pub(crate) async fn insert_set(
    conn: &mut sqlx::AnyConnection,
    s: &PolicySet,
) -> Result<(), StoreError> {
    let mut row = vec![
        ("zone_id", s.zone_id.as_str().into()),
        ("id", s.id.as_str().into()),
        ("owner_type", s.owner_type.as_str().into()),
        ("target_type", s.target_type.as_str().into()),
        ("target_id", (&s.target_id).into()),
        ("latest_version", s.latest_version.into()),
        ("latest_version_id", opt_str(s.latest_version_id.as_ref())),
        ("active_version_id", opt_str(s.active_version_id.as_ref())),
        ("shadow_version_id", opt_str(s.shadow_version_id.as_ref())),
        ("created_at", s.created_at.millis().into()),
        ("created_by", (&s.created_by).into()),
    ];
    row.extend(set_changes(s));
    insert_row("policy_sets", row)
        .query()
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}

/// Inserts `v` with the number it carries, inside `conn`.
pub(crate) async fn insert_set_version(
    conn: &mut sqlx::AnyConnection,
    v: &PolicySetVersion,
) -> Result<(), StoreError> {
    let row = vec![
        ("zone_id", v.zone_id.as_str().into()),
        ("id", v.id.as_str().into()),
        ("policy_set_id", v.policy_set_id.as_str().into()),
        ("version", v.version.into()),
        ("schema_version", (&v.schema_version).into()),
        ("owner_type", v.owner_type.as_str().into()),
        ("manifest", json(Some(&v.manifest))),
        ("manifest_sha", (&v.manifest_sha).into()),
        ("attestation", json(v.attestation.as_ref())),
        ("attestation_jws", (&v.attestation_jws).into()),
        ("created_at", v.created_at.millis().into()),
        ("created_by", (&v.created_by).into()),
        ("archived_at", opt_millis(v.archived_at)),
        ("archived_by", (&v.archived_by).into()),
    ];
    insert_row("policy_set_versions", row)
        .query()
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(())
}
