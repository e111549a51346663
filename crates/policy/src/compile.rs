//! Compiling a policy set version: every entry's stored Cedar text, revalidated against the set
//! version's schema, merged into one `cedar_policy::PolicySet`, with a map from the internal Cedar
//! policy ids back to the Keycard policies. A [`CompiledSet`] is immutable and an `Arc` inside,
//! so the server caches one per zone and swaps it atomically on activation.
//!
//! Internal Cedar ids are `<policy id>/<n>`, `n` the statement's index (from 0) in that policy
//! version's text; `@id` annotations are for people and need not be unique.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::{Policy, PolicyId, PolicySet, PrincipalConstraint, Validator};
use serde::Serialize;

use crate::schema::SchemaVersion;
use crate::validate::{PolicyError, check_against, parse_text};

/// One manifest entry to compile: the policy, the pinned version, and that version's stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub policy_id: String,
    pub policy_name: String,
    /// The policy version's number.
    pub policy_version: u32,
    pub text: String,
}

/// A policy set version to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVersionInput {
    pub set_id: String,
    pub set_name: String,
    /// The set version's number (named in deny messages).
    pub version: u32,
    /// In manifest order.
    pub entries: Vec<PolicyEntry>,
}

/// Which Keycard policy a Cedar policy came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PolicyRef {
    pub policy_id: String,
    pub policy_name: String,
    pub policy_version: u32,
}

/// A set version that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// An entry's text does not parse or validate against the set version's schema.
    #[error("policy `{policy_id}` is invalid: {error}")]
    Invalid {
        policy_id: String,
        error: PolicyError,
    },
    /// The same policy appears twice in the manifest.
    #[error("policy `{0}` appears twice in the manifest")]
    Duplicate(String),
}

#[derive(Debug)]
struct Inner {
    set_id: String,
    set_name: String,
    version: u32,
    schema: Arc<SchemaVersion>,
    policies: PolicySet,
    /// The statements that can apply to a user / an application principal (by their scope):
    /// Cedar evaluates every policy it is given, so each principal sees only its own.
    for_user: PolicySet,
    for_application: PolicySet,
    /// Cedar id → (manifest position, policy).
    refs: HashMap<PolicyId, (usize, PolicyRef)>,
}

/// A compiled, immutable policy set version. Cloning is an `Arc` clone.
#[derive(Debug, Clone)]
pub struct CompiledSet(Arc<Inner>);

impl CompiledSet {
    pub fn set_id(&self) -> &str {
        &self.0.set_id
    }

    pub fn set_name(&self) -> &str {
        &self.0.set_name
    }

    /// The set version's number.
    pub fn version(&self) -> u32 {
        self.0.version
    }

    pub fn schema(&self) -> &Arc<SchemaVersion> {
        &self.0.schema
    }

    /// How many Cedar statements the set holds.
    pub fn statement_count(&self) -> usize {
        self.0.policies.num_of_policies()
    }

    /// The statements that can apply to a principal of `kind`.
    pub(crate) fn policies_for(&self, kind: PrincipalKind) -> &PolicySet {
        match kind {
            PrincipalKind::User => &self.0.for_user,
            PrincipalKind::Application => &self.0.for_application,
        }
    }

    /// The Keycard policy behind a Cedar policy id, with its manifest position.
    pub(crate) fn lookup(&self, id: &PolicyId) -> Option<&(usize, PolicyRef)> {
        self.0.refs.get(id)
    }
}

/// Compiles `input` against `schema` (the set version's `schema_version`).
pub fn compile(
    input: &SetVersionInput,
    schema: Arc<SchemaVersion>,
) -> Result<CompiledSet, CompileError> {
    let validator = Validator::new(schema.cedar().clone());
    let mut policies = PolicySet::new();
    let mut refs = HashMap::new();
    let mut for_user = PolicySet::new();
    let mut for_application = PolicySet::new();
    let mut seen = HashSet::new();
    for (position, entry) in input.entries.iter().enumerate() {
        let invalid = |error: PolicyError| CompileError::Invalid {
            policy_id: entry.policy_id.clone(),
            error,
        };
        if !seen.insert(entry.policy_id.as_str()) {
            return Err(CompileError::Duplicate(entry.policy_id.clone()));
        }
        let parsed = parse_text(&entry.text).map_err(invalid)?;
        // Stored text was validated when its version was created; revalidating keeps a row that
        // does not fit this set version's schema from ever evaluating.
        check_against(&validator, &parsed, &entry.text).map_err(invalid)?;
        let reference = PolicyRef {
            policy_id: entry.policy_id.clone(),
            policy_name: entry.policy_name.clone(),
            policy_version: entry.policy_version,
        };
        for (n, policy) in parsed.policies().enumerate() {
            let id = PolicyId::new(format!("{}/{n}", entry.policy_id));
            let policy = policy.new_id(id.clone());
            let duplicate = |_| CompileError::Duplicate(entry.policy_id.clone());
            let (user, application) = applies_to(&policy);
            if user {
                for_user.add(policy.clone()).map_err(duplicate)?;
            }
            if application {
                for_application.add(policy.clone()).map_err(duplicate)?;
            }
            policies.add(policy).map_err(duplicate)?;
            refs.insert(id, (position, reference.clone()));
        }
    }
    Ok(CompiledSet(Arc::new(Inner {
        set_id: input.set_id.clone(),
        set_name: input.set_name.clone(),
        version: input.version,
        schema,
        policies,
        for_user,
        for_application,
        refs,
    })))
}

/// The two principal types there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalKind {
    User,
    Application,
}

/// Whether `policy`'s principal scope admits a user, an application. Without a hierarchy,
/// `principal in E` matches only `E` itself, but it is kept for both to stay safe if parents come.
fn applies_to(policy: &Policy) -> (bool, bool) {
    let of_type = |name: String| (name == "Keycard::User", name == "Keycard::Application");
    match policy.principal_constraint() {
        PrincipalConstraint::Is(t) | PrincipalConstraint::IsIn(t, _) => of_type(t.to_string()),
        PrincipalConstraint::Eq(uid) => of_type(uid.type_name().to_string()),
        PrincipalConstraint::Any | PrincipalConstraint::In(_) => (true, true),
    }
}
