//! Evaluation against a compiled set: one Cedar request ([`authorize`]), and an issuance with the
//! scope rule and one or two principals ([`authorize_issuance`]), plus the deny wording. Deny wins,
//! default deny, and anything that cannot be evaluated denies.
//!
//! Scope rule: evaluate once with every requested scope (the common case: done). If that denies
//! and scopes were requested, evaluate each requested scope alone and keep those every principal
//! is permitted; if some are kept, the kept set is evaluated once more as a whole (so a policy on a
//! combination still applies) and issued. No scope kept, or no scope requested: the request is
//! denied, naming the policies that denied the full request.

use cedar_policy::{AuthorizationError, Authorizer, Entities, Response};
use cedar_policy_core::ast::{Context, EntityUID};
use serde::Serialize;

use crate::compile::{CompiledSet, PolicyRef, PrincipalKind};
use crate::issuance::Issuance;
use crate::request::{self, AccessContext, Action, Principal, Request, ResourceEntity};

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// Allowed: the permits that applied. Denied: the forbids that applied (empty for the default
    /// deny). One entry per policy, in manifest order within each principal's evaluation.
    pub determining: Vec<PolicyRef>,
    /// Evaluation errors (a policy that errors is skipped, as Cedar specifies).
    pub errors: Vec<String>,
}

impl Decision {
    fn broken(error: String) -> Self {
        Self {
            allowed: false,
            determining: Vec::new(),
            errors: vec![error],
        }
    }
}

static AUTHORIZER: std::sync::LazyLock<Authorizer> = std::sync::LazyLock::new(Authorizer::new);

/// The Cedar side of an evaluation, built once and reused for every scope variant.
struct Prepared {
    entities: Entities,
    principals: Vec<(EntityUID, PrincipalKind)>,
    action: EntityUID,
    resource: EntityUID,
}

impl Prepared {
    fn new(
        principals: &[&Principal],
        action: Action,
        resource: &ResourceEntity,
    ) -> Result<Self, String> {
        Ok(Self {
            entities: request::entities(principals, resource)?,
            principals: principals
                .iter()
                .map(|p| p.uid().map(|u| (u, p.kind())))
                .collect::<Result<_, _>>()?,
            action: action.uid()?,
            resource: resource.uid()?,
        })
    }

    /// Evaluates principal `index` with `context`.
    fn evaluate(&self, set: &CompiledSet, index: usize, context: Context) -> Decision {
        let Some((principal, kind)) = self.principals.get(index) else {
            return Decision::broken("no principal to evaluate".into());
        };
        let request = request::cedar_request(
            principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context,
        );
        decision(
            set,
            &AUTHORIZER.is_authorized(&request, set.policies_for(*kind), &self.entities),
        )
    }

    /// Every principal with `scopes`; stops at the first deny, which is returned.
    fn evaluate_all(&self, set: &CompiledSet, ctx: &AccessContext, scopes: &[String]) -> Decision {
        let context = ctx.to_cedar(scopes);
        let mut all = Decision {
            allowed: true,
            determining: Vec::new(),
            errors: Vec::new(),
        };
        for index in 0..self.principals.len() {
            let one = self.evaluate(set, index, context.clone());
            if !one.allowed {
                return one;
            }
            merge(&mut all, one);
        }
        all.allowed = !self.principals.is_empty();
        all
    }
}

fn merge(into: &mut Decision, from: Decision) {
    for r in from.determining {
        if !into.determining.contains(&r) {
            into.determining.push(r);
        }
    }
    for e in from.errors {
        if !into.errors.contains(&e) {
            into.errors.push(e);
        }
    }
}

/// Maps Cedar's answer back to Keycard policies.
fn decision(set: &CompiledSet, response: &Response) -> Decision {
    let diagnostics = response.diagnostics();
    let mut refs: Vec<&(usize, PolicyRef)> = diagnostics
        .reason()
        .filter_map(|id| set.lookup(id))
        .collect();
    refs.sort_by_key(|(position, _)| *position);
    refs.dedup_by_key(|(position, _)| *position);
    let errors = diagnostics
        .errors()
        .map(|e| {
            let AuthorizationError::PolicyEvaluationError(e) = e;
            match set.lookup(e.policy_id()) {
                Some((_, r)) => format!("policy `{}`: {}", r.policy_name, e.inner()),
                None => e.to_string(),
            }
        })
        .collect();
    Decision {
        allowed: response.decision() == cedar_policy::Decision::Allow,
        determining: refs.into_iter().map(|(_, r)| r.clone()).collect(),
        errors,
    }
}

/// Evaluates one request as it is (its `context.scopes` included).
pub fn authorize(set: &CompiledSet, request: &Request) -> Decision {
    let prepared = match Prepared::new(&[&request.principal], request.action, &request.resource) {
        Ok(p) => p,
        Err(e) => return Decision::broken(e),
    };
    prepared.evaluate_all(set, &request.context, &request.context.scopes)
}

/// The outcome of an issuance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedDecision {
    pub allowed: bool,
    /// The requested scopes to put in the token (in request order); empty when denied.
    pub kept_scopes: Vec<String>,
    /// The requested scopes that were removed (or all of them when denied).
    pub denied_scopes: Vec<String>,
    /// Allowed: the permits behind the issued scopes. Denied: the forbids that denied the request
    /// (empty for the default deny).
    pub determining: Vec<PolicyRef>,
    pub errors: Vec<String>,
    /// How many Cedar evaluations were made.
    pub evaluations: usize,
}

/// Decides an issuance with the scope rule (see the module header).
pub fn authorize_issuance(set: &CompiledSet, issuance: &Issuance) -> ScopedDecision {
    let principals: Vec<&Principal> = issuance.principals.iter().collect();
    let requested = dedup(&issuance.context.scopes);
    let prepared = match Prepared::new(&principals, issuance.action, &issuance.resource) {
        Ok(p) => p,
        Err(e) => return denied(Decision::broken(e), &requested, 0),
    };
    let per_round = principals.len();
    let full = prepared.evaluate_all(set, &issuance.context, &requested);
    if full.allowed {
        return allowed(full, requested, Vec::new(), per_round);
    }
    let mut evaluations = per_round;
    let mut kept = Vec::new();
    let mut behind = Decision {
        allowed: true,
        determining: Vec::new(),
        errors: full.errors.clone(),
    };
    for scope in &requested {
        let one = prepared.evaluate_all(set, &issuance.context, std::slice::from_ref(scope));
        evaluations += per_round;
        if one.allowed {
            kept.push(scope.clone());
            merge(&mut behind, one);
        }
    }
    if kept.is_empty() {
        return denied(full, &requested, evaluations);
    }
    let together = prepared.evaluate_all(set, &issuance.context, &kept);
    evaluations += per_round;
    if !together.allowed {
        return denied(together, &requested, evaluations);
    }
    let removed = requested
        .iter()
        .filter(|s| !kept.contains(s))
        .cloned()
        .collect();
    allowed(behind, kept, removed, evaluations)
}

fn dedup(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for s in scopes {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

fn allowed(
    d: Decision,
    kept: Vec<String>,
    removed: Vec<String>,
    evaluations: usize,
) -> ScopedDecision {
    ScopedDecision {
        allowed: true,
        kept_scopes: kept,
        denied_scopes: removed,
        determining: d.determining,
        errors: d.errors,
        evaluations,
    }
}

fn denied(d: Decision, requested: &[String], evaluations: usize) -> ScopedDecision {
    ScopedDecision {
        allowed: false,
        kept_scopes: Vec::new(),
        denied_scopes: requested.to_vec(),
        determining: d.determining,
        errors: d.errors,
        evaluations,
    }
}

/// The `access_denied` description: `Access to "<resource>" is denied by Policy "<policy>" in
/// version <n> of Policy Set "<set>".`, naming the first determining policy in manifest order.
/// With no determining policy (nothing permitted: the default deny) it reads
/// `Access to "<resource>" is denied: no Policy in version <n> of Policy Set "<set>" permits it.`
pub fn deny_message(set: &CompiledSet, resource_name: &str, determining: &[PolicyRef]) -> String {
    match determining.first() {
        Some(policy) => format!(
            "Access to \"{resource_name}\" is denied by Policy \"{}\" in version {} of Policy Set \"{}\".",
            policy.policy_name,
            set.version(),
            set.set_name()
        ),
        None => format!(
            "Access to \"{resource_name}\" is denied: no Policy in version {} of Policy Set \"{}\" permits it.",
            set.version(),
            set.set_name()
        ),
    }
}

/// The `access_denied` description when the zone has no active set (fail closed).
pub fn no_active_set_message(resource_name: &str) -> String {
    format!("Access to \"{resource_name}\" is denied: the zone has no active Policy Set.")
}

#[cfg(test)]
#[path = "authorize_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "timing_tests.rs"]
mod timing;
