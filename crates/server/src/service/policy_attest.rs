//! Attestations of policy set versions (B28, policy-model.md §4) and the platform set every zone
//! starts with. A statement is signed as a compact JWS over its RFC 8785 form with the zone's
//! current signing key; `manifest_sha` is the hex SHA-256 of the RFC 8785 form of
//! `{"entries":[{policy_id, policy_version_id, sha}…]}` in manifest order.

use latchkey_domain::Timestamp;
use latchkey_domain::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::policy::{
    ManifestEntry, Policy, PolicySet, PolicySetVersion, PolicyVersion, TargetType,
};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::PolicySeed;
use latchkey_policy::attestation::{self, AttestationStatement, AttestationStatus, Manifest};
use latchkey_policy::defaults::{DEFAULT_POLICIES, DEFAULT_SET_NAME};
use latchkey_policy::validate::{PolicySource, validate_policy};
use serde_json::Value;

use super::new_id;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Who the platform's own objects are created and attested by.
pub const PLATFORM_ACTOR: &str = "latchkey";

/// Hex SHA-256 of the RFC 8785 form of the manifest.
pub fn manifest_sha(entries: &[ManifestEntry]) -> String {
    Manifest {
        entries: entries
            .iter()
            .map(|e| attestation::ManifestEntry {
                policy_id: e.policy_id.as_str().to_owned(),
                policy_version_id: e.policy_version_id.as_str().to_owned(),
                sha: e.sha.clone(),
            })
            .collect(),
    }
    .sha()
}

/// Signs the attestation statement of `version` with the zone's current key; answers the
/// statement and its compact JWS (header `{alg, kid}`, payload the statement's RFC 8785 form).
pub async fn attest(
    state: &AppState,
    zone: &Zone,
    version: &PolicySetVersion,
    status: AttestationStatus,
) -> ApiResult<(Value, String)> {
    let keys = state
        .keys
        .get(&zone.id, &zone.signing_alg)
        .await
        .map_err(|_| ApiError::internal())?;
    let statement = AttestationStatement {
        v: 1,
        kind: attestation::STATEMENT_TYPE.to_owned(),
        zone_id: zone.id.as_str().to_owned(),
        policy_set_id: version.policy_set_id.as_str().to_owned(),
        policy_set_version: u32::try_from(version.version).unwrap_or(u32::MAX),
        manifest_sha: version.manifest_sha.clone(),
        key_id: keys.signer.kid().to_owned(),
        attested_at: Timestamp::now().to_rfc3339(),
        attested_by: match status {
            AttestationStatus::Created => version.created_by.clone(),
            AttestationStatus::ReSigned => PLATFORM_ACTOR.to_owned(),
        },
        status,
    };
    let input = statement.jws_signing_input(keys.signer.alg().as_str());
    let signature = keys
        .signer
        .raw_sign(input.as_bytes())
        .map_err(|_| ApiError::internal())?;
    let value = serde_json::to_value(&statement).map_err(|_| ApiError::internal())?;
    Ok((value, attestation::jws_compact(&input, &signature)))
}

/// Re-signs the zone's bound set versions (active and shadow) after its keys rotated; unbound
/// versions keep their statement, which verifies while the previous key is still published.
pub async fn resign_zone(state: &AppState, zone: &Zone) -> ApiResult<usize> {
    let bound = state.store.bound_sets(&zone.id).await?;
    let mut n = 0;
    for b in bound {
        let (statement, jws) = attest(state, zone, &b.version, AttestationStatus::ReSigned).await?;
        state
            .store
            .set_attestation(&zone.id, &b.version.id, &statement, &jws)
            .await?;
        n += 1;
    }
    Ok(n)
}

/// Re-signs the bound set versions of every zone in `zones` (after a scheduled rotation); a zone
/// that fails is logged and the others go on.
pub async fn resign_zones(state: &AppState, zones: &[latchkey_domain::id::ZoneId]) {
    for id in zones {
        let zone = match state.store.get_zone(id).await {
            Ok(Some(z)) => z,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(zone = %id, error = %e, "re-signing attestations: zone not read");
                continue;
            }
        };
        if let Err(e) = resign_zone(state, &zone).await {
            tracing::warn!(zone = %id, error = ?e, "re-signing attestations after rotation failed");
        }
    }
}

/// The platform set `default-zone-policies` for `zone`, validated against `schema_version`.
fn default_seed(
    zone: &Zone,
    schema_version: &str,
    schema: &latchkey_policy::schema::SchemaVersion,
) -> ApiResult<PolicySeed> {
    let now = Timestamp::now();
    let mut policies = Vec::with_capacity(DEFAULT_POLICIES.len());
    for d in DEFAULT_POLICIES {
        let valid = validate_policy(PolicySource::CedarRaw(d.cedar), schema)
            .map_err(|e| ApiError::from(latchkey_domain::StoreError::Backend(e.to_string())))?;
        let policy_id = PolicyId::new(new_id()?);
        let version_id = PolicyVersionId::new(new_id()?);
        let policy = Policy {
            zone_id: zone.id.clone(),
            id: policy_id.clone(),
            name: d.name.to_owned(),
            description: Some(d.description.to_owned()),
            owner_type: OwnerType::Platform,
            latest_version: Some(1),
            latest_version_id: Some(version_id.clone()),
            latest_schema_version: Some(schema_version.to_owned()),
            created_at: now,
            created_by: PLATFORM_ACTOR.to_owned(),
            updated_at: now,
            updated_by: None,
            archived_at: None,
            archived_by: None,
        };
        let version = PolicyVersion {
            zone_id: zone.id.clone(),
            id: version_id,
            policy_id,
            version: 1,
            schema_version: schema_version.to_owned(),
            owner_type: OwnerType::Platform,
            cedar_raw: valid.cedar_raw,
            cedar_json: valid.cedar_json,
            sha: valid.sha,
            created_at: now,
            created_by: PLATFORM_ACTOR.to_owned(),
            archived_at: None,
            archived_by: None,
        };
        policies.push((policy, version));
    }
    let manifest: Vec<ManifestEntry> = policies
        .iter()
        .map(|(p, v)| ManifestEntry {
            policy_id: p.id.clone(),
            policy_version_id: v.id.clone(),
            sha: v.sha.clone(),
        })
        .collect();
    let set_id = PolicySetId::new(new_id()?);
    let version_id = PolicySetVersionId::new(new_id()?);
    let set = PolicySet {
        zone_id: zone.id.clone(),
        id: set_id.clone(),
        name: DEFAULT_SET_NAME.to_owned(),
        owner_type: OwnerType::Platform,
        target_type: TargetType::Zone,
        target_id: Some(zone.id.as_str().to_owned()),
        latest_version: Some(1),
        latest_version_id: Some(version_id.clone()),
        active_version_id: Some(version_id.clone()),
        shadow_version_id: None,
        created_at: now,
        created_by: PLATFORM_ACTOR.to_owned(),
        updated_at: now,
        updated_by: None,
        archived_at: None,
        archived_by: None,
    };
    let version = PolicySetVersion {
        zone_id: zone.id.clone(),
        id: version_id,
        policy_set_id: set_id,
        version: 1,
        schema_version: schema_version.to_owned(),
        owner_type: OwnerType::Platform,
        manifest_sha: manifest_sha(&manifest),
        manifest,
        attestation: None,
        attestation_jws: None,
        created_at: now,
        created_by: PLATFORM_ACTOR.to_owned(),
        archived_at: None,
        archived_by: None,
    };
    Ok(PolicySeed {
        set,
        policies,
        version,
    })
}

/// Gives `zone` the platform set `default-zone-policies` (active) unless it has it.
pub async fn seed_defaults(state: &AppState, zone: &Zone) -> ApiResult<bool> {
    let Some(version) = super::policy_rules::default_schema(state, &zone.id).await? else {
        return Err(ApiError::from(latchkey_domain::StoreError::Backend(
            "no active policy schema version".into(),
        )));
    };
    let schema = state
        .policies
        .schema(state.store.as_ref(), &version)
        .await?
        .ok_or_else(ApiError::internal)?;
    let mut seed = default_seed(zone, &version, &schema)?;
    let (statement, jws) = attest(state, zone, &seed.version, AttestationStatus::Created).await?;
    seed.version.attestation = Some(statement);
    seed.version.attestation_jws = Some(jws);
    let inserted = state.store.seed_policy_set(&seed).await?;
    state.policy_changed(&zone.id);
    Ok(inserted)
}

/// Seeds the platform set into every zone that lacks it (start-up: zones created before
/// policies existed).
pub async fn seed_missing(state: &AppState) -> ApiResult<usize> {
    let mut n = 0;
    for id in state
        .store
        .zones_without_policy_set(DEFAULT_SET_NAME)
        .await?
    {
        if let Some(zone) = state.store.get_zone(&id).await?
            && seed_defaults(state, &zone).await?
        {
            n += 1;
        }
    }
    Ok(n)
}
