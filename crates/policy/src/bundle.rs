//! The user policy bundle (`/policy/bundle`) as data: the manifest, the in-memory bundle, its
//! digest and ETag, exactly as Keycard's Go SDK (`policy/bundle.go`) defines them; the tar+gzip
//! codec is in `tarball`. Content digests are `sha256:<hex>` of the file bytes; the bundle digest
//! is `sha256:<hex>` of the JCS form of the manifest with every `name` removed and the policies
//! sorted, and it is the ETag (quoted, as HTTP requires).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::jcs::jcs;
use crate::validate::sha256_hex;

/// The bundle media type (GET/PUT `Accept`, PUT `Content-Type`).
pub const MEDIA_TYPE: &str = "application/vnd.keycard.policy-bundle.v1+tar+gzip";

/// The machine code of every bundle that cannot be read.
pub const BUNDLE_INVALID: &str = "bundle_invalid";

/// `manifest.json` → `schema`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaRef {
    #[serde(default)]
    pub version: String,
    /// `sha256:<hex>` of `schema.cedarschema`.
    #[serde(default)]
    pub sha: String,
}

/// One policy of the bundle: exactly one of `public_id` (an existing policy) and `new_policy` (a
/// name for a policy the caller adds) is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePolicy {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_policy: String,
    /// Advisory display name: ignored on PUT, excluded from the digest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `sha256:<hex>` of the policy file.
    #[serde(default)]
    pub sha: String,
}

impl BundlePolicy {
    /// The archive key: `policies/<key>.cedar`.
    pub fn key(&self) -> Result<&str, BundleError> {
        let key = match (self.public_id.is_empty(), self.new_policy.is_empty()) {
            (false, false) => {
                return Err(invalid(
                    "a policy entry sets both `public_id` and `new_policy`",
                ));
            }
            (false, true) => &self.public_id,
            (true, false) => &self.new_policy,
            (true, true) => {
                return Err(invalid(
                    "a policy entry sets neither `public_id` nor `new_policy`",
                ));
            }
        };
        if key == "." || key == ".." || key.contains(['/', '\\']) {
            return Err(invalid(format!(
                "policy key `{key}` is not a valid file name"
            )));
        }
        Ok(key)
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    #[serde(default)]
    pub schema: SchemaRef,
    /// `zone` or `user`.
    #[serde(default)]
    pub target_type: String,
    /// The principal the bundle is bound to.
    #[serde(default)]
    pub target_id: String,
    #[serde(default)]
    pub policies: Vec<BundlePolicy>,
}

impl BundleManifest {
    /// `sha256:<hex>` of the JCS form of the manifest without names, policies sorted by
    /// `public_id` then `new_policy`. Trusts the `sha` fields it carries.
    pub fn digest(&self) -> String {
        let mut stripped = self.clone();
        for p in &mut stripped.policies {
            p.name.clear();
        }
        sort(&mut stripped.policies);
        let mut value = serde_json::to_value(&stripped).unwrap_or_default();
        // The Go SDK marshals a manifest without policies as `"policies":null`.
        if stripped.policies.is_empty() {
            value["policies"] = serde_json::Value::Null;
        }
        prefixed_sha(jcs(&value).as_bytes())
    }
}

/// A bundle that cannot be read (or built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BundleError {
    /// Always [`BUNDLE_INVALID`].
    pub code: &'static str,
    pub message: String,
    /// The decompressed archive is over the cap (the server may answer 413).
    pub too_large: bool,
}

pub(crate) fn invalid(message: impl Into<String>) -> BundleError {
    BundleError {
        code: BUNDLE_INVALID,
        message: message.into(),
        too_large: false,
    }
}

/// `sha256:<hex>`.
pub fn prefixed_sha(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

pub(crate) fn sort(policies: &mut [BundlePolicy]) {
    policies.sort_by(|a, b| {
        (a.public_id.as_str(), a.new_policy.as_str())
            .cmp(&(b.public_id.as_str(), b.new_policy.as_str()))
    });
}

/// A bundle in memory: the manifest (identities, names, schema version, target), the schema
/// text and the policy files by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    pub manifest: BundleManifest,
    pub schema: Vec<u8>,
    pub policies: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// The manifest for the current content: every `sha` recomputed from the bytes, entries
    /// sorted; a manifest entry without content is left out, content without an entry is an error.
    pub fn canonical_manifest(&self) -> Result<BundleManifest, BundleError> {
        let mut by_key = BTreeMap::new();
        for p in &self.manifest.policies {
            by_key.insert(p.key()?, p);
        }
        let mut policies = Vec::with_capacity(self.policies.len());
        for (key, content) in &self.policies {
            let entry = by_key
                .get(key.as_str())
                .ok_or_else(|| invalid(format!("policy `{key}` has no manifest entry")))?;
            policies.push(BundlePolicy {
                sha: prefixed_sha(content),
                ..(*entry).clone()
            });
        }
        sort(&mut policies);
        Ok(BundleManifest {
            schema: SchemaRef {
                version: self.manifest.schema.version.clone(),
                sha: prefixed_sha(&self.schema),
            },
            target_type: self.manifest.target_type.clone(),
            target_id: self.manifest.target_id.clone(),
            policies,
        })
    }

    /// The bundle's digest from its content.
    pub fn digest(&self) -> Result<String, BundleError> {
        Ok(self.canonical_manifest()?.digest())
    }

    /// The HTTP `ETag`: the digest, quoted.
    pub fn etag(&self) -> Result<String, BundleError> {
        Ok(format!("\"{}\"", self.digest()?))
    }
}

/// Whether an `If-Match` / `If-None-Match` value names the bundle with `digest`: `*`, or a
/// comma-separated list of entity tags compared weakly (a `W/` prefix and the quotes are ignored,
/// and a bare digest is accepted, as SDKs may send the ETag unquoted).
pub fn etag_matches(header: &str, digest: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag.trim_matches('"') == digest
    })
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
