//! The user policy bundle (`GET/PUT/DELETE /policy/bundle`, B31–B33, policy-model.md §3 and §5):
//! the caller is a zone user named by a zone-issued user access token; their bundle is their
//! unarchived `user`-target set in that zone (seeded from the platform defaults on first access),
//! served as the codec's `Bundle` whose digest is the ETag. A PUT validates every file against the
//! manifest's schema version, versions changed policies, creates `new_policy` ones and activates a
//! new set version; DELETE archives the set.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use latchkey_domain::model::policy::{
    ManifestEntry, Policy, PolicySet, PolicySetVersion, PolicyVersion, TargetType,
};
use latchkey_domain::store::PolicySetFilter;
use latchkey_domain::{ListFilter, PageRequest, SortKey, Timestamp};
use latchkey_policy::bundle::etag_matches;
use latchkey_policy::bundle::{Bundle, BundleError, BundleManifest, BundlePolicy, SchemaRef};
use latchkey_policy::tarball;
use latchkey_policy::validate::ValidatedPolicy;

use super::policy_bundle_write::{
    Caller, add_version, bundle_invalid, entry, new_policy, pin, precondition_failed, seed,
    set_name, validated,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller behind a bearer token: a zone-issued, unexpired user access token of an active user;
/// anything else is 401.
pub async fn caller(state: &AppState, token: Option<&str>) -> ApiResult<Caller> {
    let denied = || ApiError::unauthenticated("a user access token issued by a zone is required");
    let found = super::principals::zone_user(state, token.ok_or_else(denied)?)
        .await?
        .ok_or_else(denied)?;
    Ok(Caller {
        zone: found.zone,
        user: found.user,
    })
}

/// The caller's unarchived user set, if any: the newest bound one of its name (archiving unbinds,
/// so archived sets never count however many there are; should two have been seeded at once, the
/// newer wins every time).
async fn current_set(state: &AppState, caller: &Caller) -> ApiResult<Option<PolicySet>> {
    let filter = PolicySetFilter {
        list: ListFilter::default().exact("name", vec![set_name(caller)]),
        active: Some(true),
        target_types: vec![TargetType::User],
    };
    let page = PageRequest {
        sort: vec![SortKey {
            field: "created_at",
            desc: true,
        }],
        ..PageRequest::first(10)
    };
    let found = state
        .store
        .list_policy_sets(&caller.zone.zone.id, &filter, &page)
        .await?;
    Ok(found
        .items
        .into_iter()
        .find(|s| s.archived_at.is_none() && s.target_id.as_deref() == Some(caller.target())))
}

/// The caller's bundle as stored: the set, its active version and the pinned policies.
struct Current {
    set: PolicySet,
    version: PolicySetVersion,
    policies: Vec<(Policy, PolicyVersion)>,
}

/// The caller's set, seeding it on first access.
async fn current(state: &AppState, caller: &Caller) -> ApiResult<Current> {
    let set = match current_set(state, caller).await? {
        Some(set) => set,
        None => seed(state, caller).await?,
    };
    let zone = &caller.zone.zone.id;
    let version_id = set
        .active_version_id
        .clone()
        .or_else(|| set.latest_version_id.clone())
        .ok_or_else(ApiError::internal)?;
    let version = state
        .store
        .get_policy_set_version(zone, &version_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let mut policies = Vec::with_capacity(version.manifest.len());
    for e in &version.manifest {
        let p = state.store.get_policy(zone, &e.policy_id).await?;
        let v = state
            .store
            .get_policy_version(zone, &e.policy_version_id)
            .await?;
        policies.push((
            p.ok_or_else(ApiError::internal)?,
            v.ok_or_else(ApiError::internal)?,
        ));
    }
    Ok(Current {
        set,
        version,
        policies,
    })
}

/// The codec's bundle of `current`, every digest computed from the content.
async fn materialize(state: &AppState, caller: &Caller, current: &Current) -> ApiResult<Bundle> {
    let schema = state
        .store
        .get_schema_version(&current.version.schema_version)
        .await?
        .ok_or_else(ApiError::internal)?;
    let mut files = BTreeMap::new();
    let mut entries = Vec::with_capacity(current.policies.len());
    for (p, v) in &current.policies {
        files.insert(p.id.as_str().to_owned(), v.cedar_raw.clone().into_bytes());
        entries.push(BundlePolicy {
            public_id: p.id.as_str().to_owned(),
            name: p.name.clone(),
            ..BundlePolicy::default()
        });
    }
    let mut bundle = Bundle {
        manifest: BundleManifest {
            schema: SchemaRef {
                version: schema.version,
                sha: String::new(),
            },
            target_type: TargetType::User.as_str().to_owned(),
            target_id: caller.target().to_owned(),
            policies: entries,
        },
        schema: schema.cedar.into_bytes(),
        policies: files,
    };
    bundle.manifest = bundle.canonical_manifest().map_err(server_side)?;
    Ok(bundle)
}

fn server_side(e: BundleError) -> ApiError {
    tracing::error!(error = %e, "cannot build a policy bundle");
    ApiError::internal()
}

/// `GET`: the caller's bundle (seeded on first access).
pub async fn get(state: &AppState, caller: &Caller) -> ApiResult<Bundle> {
    let current = current(state, caller).await?;
    materialize(state, caller, &current).await
}

/// `PUT`: applies `body` (a tar+gzip bundle) as the caller's active set version; answers the new
/// bundle. The archive is decoded off the async workers (up to 64 MiB of inflating).
pub async fn put(
    state: &AppState,
    caller: &Caller,
    if_match: Option<&str>,
    body: axum::body::Bytes,
) -> ApiResult<Bundle> {
    let before = current(state, caller).await?;
    if let Some(tag) = if_match {
        let digest = materialize(state, caller, &before)
            .await?
            .digest()
            .map_err(server_side)?;
        if !etag_matches(tag, &digest) {
            return Err(precondition_failed());
        }
    }
    let upload = tokio::task::spawn_blocking(move || tarball::decode(&body))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(decode_error)?;
    let schema_version = upload.manifest.schema.version.clone();
    let checked = check_all(state, &before, &upload).await?;
    let mut entries = Vec::with_capacity(checked.len());
    for (p, valid) in checked {
        entries.push(apply(state, caller, &before, &schema_version, p, valid).await?);
    }
    let unchanged =
        entries == before.version.manifest && schema_version == before.version.schema_version;
    if !unchanged {
        let after = if_match.map(|_| before.version.version);
        pin(state, caller, &before.set, &schema_version, entries, after).await?;
    }
    get(state, caller).await
}

fn decode_error(e: BundleError) -> ApiError {
    if e.too_large {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.code, e.message)
    } else {
        bundle_invalid(e.message)
    }
}

/// Every manifest entry with its file validated, before anything is written; an existing entry
/// must name a policy of the caller's bundle.
async fn check_all<'a>(
    state: &AppState,
    before: &Current,
    upload: &'a Bundle,
) -> ApiResult<Vec<(&'a BundlePolicy, ValidatedPolicy)>> {
    let schema_version = &upload.manifest.schema.version;
    let mut out = Vec::with_capacity(upload.manifest.policies.len());
    for p in &upload.manifest.policies {
        let key = p.key().map_err(|e| bundle_invalid(e.message))?;
        if !p.public_id.is_empty() && !before.policies.iter().any(|(x, _)| x.id.as_str() == key) {
            return Err(bundle_invalid(format!(
                "policy `{key}` is not in your bundle; add a policy with `new_policy`"
            )));
        }
        let bytes = upload.policies.get(key).map_or(&[][..], Vec::as_slice);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| bundle_invalid(format!("policy `{key}` is not UTF-8 text")))?;
        out.push((p, validated(state, schema_version, key, text).await?));
    }
    Ok(out)
}

/// The manifest entry of one checked bundle policy: the current version when its Cedar and schema
/// are unchanged, else a new version (or a new policy for `new_policy`).
async fn apply(
    state: &AppState,
    caller: &Caller,
    before: &Current,
    schema_version: &str,
    p: &BundlePolicy,
    valid: ValidatedPolicy,
) -> ApiResult<ManifestEntry> {
    if p.public_id.is_empty() {
        return new_policy(state, caller, &p.new_policy, None, schema_version, valid).await;
    }
    let (policy, version) = before
        .policies
        .iter()
        .find(|(x, _)| x.id.as_str() == p.public_id)
        .ok_or_else(ApiError::internal)?;
    if version.sha == valid.sha && version.schema_version == schema_version {
        return Ok(entry(version));
    }
    let v = add_version(state, caller, &policy.id, schema_version, valid).await?;
    Ok(entry(&v))
}

/// `DELETE`: archives the caller's set (nothing to do when there is none).
pub async fn reset(state: &AppState, caller: &Caller) -> ApiResult<()> {
    let Some(mut set) = current_set(state, caller).await? else {
        return Ok(());
    };
    let now = Timestamp::now();
    set.archived_at = Some(now);
    set.archived_by = Some(caller.actor());
    set.updated_at = now;
    set.updated_by = Some(caller.actor());
    state.store.update_policy_set(&set, None).await?;
    state.policy_changed(&caller.zone.zone.id);
    Ok(())
}
