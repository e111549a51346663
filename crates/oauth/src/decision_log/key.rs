//! What identifies a policy decision in the log ([`Decided`]), and its key as issuance keeps it
//! ([`Logged`]): hashed once, and carrying the tally of a key a caller keeps (an issuance plan's).

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, LazyLock};

use latchkey_domain::id::ZoneId;
use latchkey_policy::compile::PolicyRef;

/// The shadow set's decision when it differs from the enforced one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShadowOutcome {
    pub policy_set_id: String,
    pub policy_set_version: u32,
    pub allowed: bool,
    pub determining: Vec<PolicyRef>,
}

/// What identifies a decision: identical decisions in one window are tallied together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decided {
    pub zone_id: ZoneId,
    /// `application`, `user` or `none`.
    pub principal_type: &'static str,
    pub principal_id: String,
    pub subject_id: Option<String>,
    pub action: &'static str,
    pub resource_id: String,
    pub allowed: bool,
    pub determining: Vec<PolicyRef>,
    pub policy_set_id: String,
    pub policy_set_version: u32,
    pub shadow: Option<ShadowOutcome>,
    pub scopes: Vec<String>,
}

/// A decision's key with its hash, computed once (process-random seed: the strings come from
/// requests), and its tally since the last flush when a caller keeps it.
#[derive(Debug)]
pub struct Logged {
    pub(super) kept: Kept,
    hash: u64,
    pub(super) decided: Decided,
}

/// The tally of a kept key ([`super::DecisionLog::tally_kept`]), in milliseconds since the epoch.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// Evaluations since the flush last took them: while above zero, the key is listed for the
    /// next flush (or its listing is under way).
    pub(super) count: AtomicI64,
    pub(super) first: AtomicI64,
    pub(super) last: AtomicI64,
}

static SEED: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

impl Logged {
    pub fn new(decided: Decided) -> Arc<Self> {
        Arc::new(Self {
            kept: Kept::default(),
            hash: SEED.hash_one(&decided),
            decided,
        })
    }
}

impl PartialEq for Logged {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other) || (self.hash == other.hash && self.decided == other.decided)
    }
}

impl Eq for Logged {}

impl Hash for Logged {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}
