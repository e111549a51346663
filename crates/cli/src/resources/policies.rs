//! The policy commands beyond CRUD: `policies push` (a new immutable version from a `.cedar`
//! file), `policies activate` (put a policy's latest version into a set and activate that),
//! `policies versions`, and for policy sets `push` (a new version from policy versions),
//! `activate` (bind a version) and `versions`.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::crud::{self, Crud, ListArgs, item};
use super::kinds::{POLICIES, POLICY_SETS};
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output;

const VERSION_COLUMNS: &[&str] = &[
    "id",
    "version",
    "schema_version",
    "active",
    "sha",
    "created_at",
];

/// `latchkey policies …`
#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCmd {
    #[command(flatten)]
    Crud(Crud),
    /// Create a new version of POLICY from a Cedar file.
    Push {
        policy: String,
        /// The Cedar policy text (`-` for stdin).
        file: PathBuf,
        /// The schema to validate against (default: the zone's default schema).
        #[arg(long)]
        schema_version: Option<String>,
    },
    /// Make POLICY's latest version take effect: a new version of SET holding the entries of
    /// its current version (active, else latest) with POLICY's entry replaced by its latest
    /// version, activated at once.
    Activate {
        policy: String,
        /// The policy set to activate it in.
        #[arg(long)]
        set: String,
    },
    /// List the versions of POLICY.
    Versions {
        policy: String,
        #[command(flatten)]
        list: ListArgs,
    },
}

/// `latchkey policy-sets …`
#[derive(Debug, Clone, Subcommand)]
pub enum PolicySetCmd {
    #[command(flatten)]
    Crud(Crud),
    /// Create a new version of SET holding the given policy versions.
    Push {
        set: String,
        /// `POLICY_ID` (its latest version) or `POLICY_ID:VERSION_ID`. Repeatable.
        #[arg(long = "policy", value_name = "POLICY[:VERSION]", required = true)]
        policies: Vec<String>,
        /// The schema the version is pinned to (default: the one the policy versions were
        /// validated against, when they agree; else the zone's default schema).
        #[arg(long)]
        schema_version: Option<String>,
    },
    /// Activate VERSION of SET (binds the set to its target).
    Activate { set: String, version: String },
    /// List the versions of SET.
    Versions {
        set: String,
        #[command(flatten)]
        list: ListArgs,
    },
}

pub async fn policies(ctx: &Context, cmd: &PolicyCmd) -> CliResult<()> {
    let base = crud::collection(ctx, &POLICIES).await?;
    match cmd {
        PolicyCmd::Crud(c) => crud::run(ctx, &POLICIES, c).await,
        PolicyCmd::Push {
            policy,
            file,
            schema_version,
        } => {
            let text = read_text(file)?;
            let schema = schema_or_default(ctx, schema_version.as_deref()).await?;
            let body = json!({"schema_version": schema, "cedar_raw": text});
            let path = format!("{}/versions", item(&base, policy));
            let value = ctx.call_json(Method::POST, &path, &[], Some(&body)).await?;
            output::print(ctx.format, &value, VERSION_COLUMNS);
            Ok(())
        }
        PolicyCmd::Activate { policy, set } => {
            let value = activate_in_set(ctx, policy, set).await?;
            output::print(ctx.format, &value, VERSION_COLUMNS);
            Ok(())
        }
        PolicyCmd::Versions { policy, list } => {
            let path = format!("{}/versions", item(&base, policy));
            versions(ctx, &path, list).await
        }
    }
}

/// `policies activate POLICY --set SET`: the activated set version.
async fn activate_in_set(ctx: &Context, policy: &str, set: &str) -> CliResult<Value> {
    let sets = crud::collection(ctx, &POLICY_SETS).await?;
    let set_path = item(&sets, set);
    let found = ctx.call_json(Method::GET, &set_path, &[], None).await?;
    let current = ["active_version_id", "latest_version_id"]
        .iter()
        .find_map(|k| found.get(*k).and_then(Value::as_str).map(str::to_owned));
    let mut entries = Vec::new();
    let mut schema = None;
    if let Some(v) = current {
        let path = item(&format!("{set_path}/versions"), &v);
        let version = ctx.call_json(Method::GET, &path, &[], None).await?;
        schema = version
            .get("schema_version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        entries = kept_entries(&version, policy);
    }
    let (entry, policy_schema) = manifest_entry(ctx, policy).await?;
    entries.push(entry);
    let schema = match schema.or(policy_schema) {
        Some(s) => s,
        None => schema_or_default(ctx, None).await?,
    };
    let body = json!({"manifest": {"entries": entries}, "schema_version": schema});
    let created = ctx
        .call_json(
            Method::POST,
            &format!("{set_path}/versions"),
            &[],
            Some(&body),
        )
        .await?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::Usage("the server returned a set version without an id".into()))?;
    let path = item(&format!("{set_path}/versions"), id);
    ctx.call_json(Method::PATCH, &path, &[], Some(&json!({"active": true})))
        .await
}

/// The manifest entries of a set version other than `policy`'s, as `{policy_id,
/// policy_version_id}`.
fn kept_entries(version: &Value, policy: &str) -> Vec<Value> {
    version
        .pointer("/manifest/entries")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter(|e| e.get("policy_id").and_then(Value::as_str) != Some(policy))
                .map(|e| {
                    json!({"policy_id": e.get("policy_id"), "policy_version_id": e.get("policy_version_id")})
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn policy_sets(ctx: &Context, cmd: &PolicySetCmd) -> CliResult<()> {
    let base = crud::collection(ctx, &POLICY_SETS).await?;
    match cmd {
        PolicySetCmd::Crud(c) => crud::run(ctx, &POLICY_SETS, c).await,
        PolicySetCmd::Push {
            set,
            policies,
            schema_version,
        } => {
            let mut entries = Vec::new();
            let mut schemas = Vec::new();
            for p in policies {
                let (entry, schema) = manifest_entry(ctx, p).await?;
                entries.push(entry);
                schemas.extend(schema);
            }
            schemas.dedup();
            let schema = match (schema_version, schemas.as_slice()) {
                (Some(v), _) => v.clone(),
                (None, [only]) => only.clone(),
                (None, _) => schema_or_default(ctx, None).await?,
            };
            let body = json!({"manifest": {"entries": entries}, "schema_version": schema});
            let path = format!("{}/versions", item(&base, set));
            let value = ctx.call_json(Method::POST, &path, &[], Some(&body)).await?;
            output::print(ctx.format, &value, VERSION_COLUMNS);
            Ok(())
        }
        PolicySetCmd::Activate { set, version } => {
            let path = item(&format!("{}/versions", item(&base, set)), version);
            let body = json!({"active": true});
            let value = ctx
                .call_json(Method::PATCH, &path, &[], Some(&body))
                .await?;
            output::print(ctx.format, &value, VERSION_COLUMNS);
            Ok(())
        }
        PolicySetCmd::Versions { set, list } => {
            let path = format!("{}/versions", item(&base, set));
            versions(ctx, &path, list).await
        }
    }
}

async fn versions(ctx: &Context, path: &str, list: &ListArgs) -> CliResult<()> {
    let query = crud::params(&list.params)?;
    let value = crud::list(ctx, path, list, query).await?;
    output::print(ctx.format, &value, VERSION_COLUMNS);
    Ok(())
}

/// `POLICY[:VERSION]` as a manifest entry (the latest version when none is named), with the
/// schema that version was validated against.
async fn manifest_entry(ctx: &Context, spec: &str) -> CliResult<(Value, Option<String>)> {
    let base = crud::collection(ctx, &POLICIES).await?;
    let (policy, version) = match spec.split_once(':') {
        Some((p, v)) => (p.to_owned(), v.to_owned()),
        None => {
            let p = ctx
                .call_json(Method::GET, &item(&base, spec), &[], None)
                .await?;
            let v = p
                .get("latest_version_id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "policy `{spec}` has no version yet: push one first"
                    ))
                })?;
            (spec.to_owned(), v.to_owned())
        }
    };
    let path = item(&format!("{}/versions", item(&base, &policy)), &version);
    let found = ctx.call_json(Method::GET, &path, &[], None).await?;
    let schema = found
        .get("schema_version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let entry = json!({"policy_id": policy, "policy_version_id": version});
    Ok((entry, schema))
}

/// The given schema version, or the zone's default one.
async fn schema_or_default(ctx: &Context, given: Option<&str>) -> CliResult<String> {
    if let Some(v) = given {
        return Ok(v.to_owned());
    }
    let path = format!(
        "/zones/{}/policy-schemas",
        crate::context::segment(ctx.zone_id()?)
    );
    let list = ctx.call_json(Method::GET, &path, &[], None).await?;
    output::items_of(&list)
        .unwrap_or_default()
        .iter()
        .find(|s| s.get("is_default") == Some(&Value::Bool(true)))
        .and_then(|s| s.get("version").and_then(Value::as_str))
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Usage("the zone has no default schema: pass --schema-version".into())
        })
}

fn read_text(file: &PathBuf) -> CliResult<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| CliError::io(file, e))?;
        return Ok(s);
    }
    std::fs::read_to_string(file).map_err(|e| CliError::io(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_replaces_only_the_policys_own_entry() {
        let v = json!({"manifest": {"entries": [
            {"policy_id": "a", "policy_version_id": "a1", "sha": "x"},
            {"policy_id": "b", "policy_version_id": "b1", "sha": "y"}
        ]}});
        assert_eq!(
            kept_entries(&v, "a"),
            vec![json!({"policy_id": "b", "policy_version_id": "b1"})]
        );
        assert!(kept_entries(&json!({}), "a").is_empty());
    }
}
