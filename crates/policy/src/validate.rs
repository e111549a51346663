//! Validation of a policy version: parse the submitted Cedar (`cedar_raw` text or `cedar_json`),
//! validate it strictly against a schema version, normalise the stored text, and derive both
//! served forms and the `sha`. Errors name the first problem's line and column.
//!
//! Decisions: a policy version holds one or more Cedar statements (static policies only, no
//! templates). The stored text is normalised by the Cedar formatter (80 columns, two-space indent,
//! comments kept, one blank line between statements, final newline), so the same policy entered
//! with different layout, or as JSON, gets the same `sha` = hex SHA-256 of the stored text.
//! `cedar_json` is the policy's JSON (EST) object for one statement, and Cedar's policy-set JSON
//! (`{"staticPolicies": …}`) for several; both shapes are accepted on input.

use std::str::FromStr;

use cedar_policy::{Policy, PolicySet, ValidationMode, Validator};
use miette::Diagnostic;
use sha2::{Digest, Sha256};

use crate::schema::SchemaVersion;

/// The machine code of every validation failure (`400 invalid_cedar`).
pub const INVALID_CEDAR: &str = "invalid_cedar";

/// What the caller submitted: exactly one of the two create-body fields.
#[derive(Debug, Clone, Copy)]
pub enum PolicySource<'a> {
    /// `cedar_raw`: Cedar policy text.
    CedarRaw(&'a str),
    /// `cedar_json`: Cedar JSON policy format (one policy, or a policy set).
    CedarJson(&'a serde_json::Value),
}

/// A policy that does not parse or does not validate. `line` and `column` are 1-based and point
/// into the submitted text (for `cedar_json`, into the Cedar text rendered from it); a problem
/// with no position (an empty policy, malformed JSON) is reported at 1:1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct PolicyError {
    /// Always [`INVALID_CEDAR`].
    pub code: &'static str,
    /// What is wrong, from Cedar.
    pub message: String,
    pub line: u32,
    pub column: u32,
}

impl PolicyError {
    fn at(message: impl Into<String>, text: &str, offset: usize) -> Self {
        let (line, column) = line_column(text, offset);
        Self {
            code: INVALID_CEDAR,
            message: message.into(),
            line,
            column,
        }
    }

    fn unplaced(message: impl Into<String>) -> Self {
        Self::at(message, "", 0)
    }
}

/// A validated policy version, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedPolicy {
    /// The normalised Cedar text (what is stored and hashed).
    pub cedar_raw: String,
    /// The JSON (EST) form of the stored text.
    pub cedar_json: serde_json::Value,
    /// Hex SHA-256 of `cedar_raw`.
    pub sha: String,
    /// How many Cedar statements the version holds.
    pub statements: usize,
    /// Validator warnings (e.g. a policy that can never apply); they do not reject the policy.
    pub warnings: Vec<String>,
}

/// Parses, validates against `schema` (strict mode) and normalises one policy version.
pub fn validate_policy(
    source: PolicySource<'_>,
    schema: &SchemaVersion,
) -> Result<ValidatedPolicy, PolicyError> {
    let text = match source {
        PolicySource::CedarRaw(text) => text.to_owned(),
        PolicySource::CedarJson(json) => render_json(json)?,
    };
    let set = parse_text(&text)?;
    let validator = Validator::new(schema.cedar().clone());
    let warnings = check_against(&validator, &set, &text)?;
    let cedar_raw = normalise(&text)?;
    let stored = parse_text(&cedar_raw)?;
    Ok(ValidatedPolicy {
        cedar_json: to_json(&stored)?,
        sha: sha256_hex(cedar_raw.as_bytes()),
        statements: stored.num_of_policies(),
        cedar_raw,
        warnings,
    })
}

/// Parses Cedar text holding one or more static policies.
pub(crate) fn parse_text(text: &str) -> Result<PolicySet, PolicyError> {
    let set = PolicySet::from_str(text).map_err(|e| {
        let offset = first_offset(&e).unwrap_or(0);
        PolicyError::at(e.to_string(), text, offset)
    })?;
    if set.num_of_templates() > 0 {
        let offset = ["?principal", "?resource"]
            .iter()
            .filter_map(|slot| text.find(slot))
            .min()
            .unwrap_or(0);
        return Err(PolicyError::at(
            "templates (`?principal`, `?resource`) are not supported",
            text,
            offset,
        ));
    }
    if set.is_empty() {
        return Err(PolicyError::unplaced("the policy holds no Cedar statement"));
    }
    Ok(set)
}

/// Strict validation of `set` (parsed from `text`); the first error (by position) rejects it.
pub(crate) fn check_against(
    validator: &Validator,
    set: &PolicySet,
    text: &str,
) -> Result<Vec<String>, PolicyError> {
    let result = validator.validate(set, ValidationMode::Strict);
    let first = result
        .validation_errors()
        .map(|e| (first_offset(e).unwrap_or(0), e))
        .min_by_key(|(offset, _)| *offset);
    if let Some((offset, error)) = first {
        let message = match error.help() {
            Some(help) => format!("{error}: {help}"),
            None => error.to_string(),
        };
        return Err(PolicyError::at(message, text, offset));
    }
    Ok(result
        .validation_warnings()
        .map(|w| w.to_string())
        .collect())
}

/// The Cedar text of a `cedar_json` policy (one EST object, or a policy-set JSON object).
fn render_json(json: &serde_json::Value) -> Result<String, PolicyError> {
    let set = if json.get("staticPolicies").is_some() {
        PolicySet::from_json_value(json.clone())
            .map_err(|e| PolicyError::unplaced(format!("invalid `cedar_json`: {e}")))?
    } else {
        let policy = Policy::from_json(None, json.clone())
            .map_err(|e| PolicyError::unplaced(format!("invalid `cedar_json`: {e}")))?;
        PolicySet::from_policies([policy])
            .map_err(|e| PolicyError::unplaced(format!("invalid `cedar_json`: {e}")))?
    };
    if set.num_of_templates() > 0 {
        return Err(PolicyError::unplaced(
            "templates (`?principal`, `?resource`) are not supported",
        ));
    }
    set.to_cedar()
        .ok_or_else(|| PolicyError::unplaced("linked policies are not supported"))
}

/// The stored form: the Cedar formatter's output.
fn normalise(text: &str) -> Result<String, PolicyError> {
    let config = cedar_policy_formatter::Config::default();
    cedar_policy_formatter::policies_str_to_pretty(text, &config)
        .map_err(|e| PolicyError::unplaced(format!("cannot normalise the policy: {e}")))
}

/// One statement: its EST object; several: the policy-set JSON.
fn to_json(set: &PolicySet) -> Result<serde_json::Value, PolicyError> {
    let mut policies = set.policies();
    let json = match (policies.next(), policies.next()) {
        (Some(only), None) => only.to_json().map_err(|e| e.to_string()),
        _ => set.clone().to_json().map_err(|e| e.to_string()),
    };
    json.map_err(|e| PolicyError::unplaced(format!("cannot render the policy as JSON: {e}")))
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The smallest byte offset any label of `diag` points at.
fn first_offset(diag: &dyn Diagnostic) -> Option<usize> {
    diag.labels()?.map(|l| l.offset()).min()
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
