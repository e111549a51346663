//! The one authorization table of the management API: which principal may do what. Every
//! management route is an [`Operation`] (a resource type and an action, named from its method and
//! path by [`Operation::of`]); [`Grants`] are what a principal holds (an organization role,
//! zone roles, or an org-wide machine credential); [`Grants::allows`] decides. The route guard
//! (`routes::guard`) and the `permissions` expansion ([`Grants::permissions`]) both ask this
//! module, so what the server enforces and what it reports cannot disagree. `docs/roles.md`
//! shows the same table.

use std::collections::BTreeMap;

use latchkey_domain::id::ZoneId;
use latchkey_domain::model::access::{OrgRole, Principal, ZoneRole};

use crate::api::Permissions;

/// What an operation does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    /// Reading a secret's value (the single-secret GET): as privileged as writing.
    Reveal,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Reveal => "reveal",
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Self::Read)
    }
}

/// Where an operation's resource lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The organization in the path (or the caller's own, for `/zones` and `/organizations`).
    Organization,
    /// The zone in the path.
    Zone,
}

/// A management operation: the resource type (the `permissions` map key) and the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub resource: &'static str,
    pub action: Action,
    pub scope: Scope,
}

/// Organization-level resource types, as `permissions` keys.
pub const ORG_RESOURCES: &[&str] = &[
    "organizations",
    "organization_users",
    "invitations",
    "service_accounts",
    "sso_connection",
    "audit_events",
    "zones",
];

/// Zone-level resource types, as `permissions` keys.
pub const ZONE_RESOURCES: &[&str] = &[
    "zones",
    "zone_members",
    "applications",
    "application_credentials",
    "resources",
    "providers",
    "secrets",
    "delegated_grants",
    "sessions",
    "users",
    "user_agents",
    "signing_keys",
    "policy_schemas",
    "policies",
    "policy_sets",
    "policy_decisions",
];

/// Which resource type a path segment under `/organizations/{id}/` or `/zones/{id}/` names.
fn resource_of(scope: Scope, segment: &str) -> Option<&'static str> {
    let known = match scope {
        Scope::Organization => ORG_RESOURCES,
        Scope::Zone => ZONE_RESOURCES,
    };
    let name = match segment {
        "users" if scope == Scope::Organization => "organization_users",
        "members" => "zone_members",
        "sso-connection" => "sso_connection",
        other => return known.iter().find(|k| k.replace('_', "-") == other).copied(),
    };
    Some(name)
}

impl Operation {
    /// The operation of a management route (its method and its route template), or `None` for
    /// routes the table does not govern (the public invitation view, accepting an invitation,
    /// the user policy bundle, the zone authorization servers).
    pub fn of(method: &str, route: &str) -> Option<Self> {
        let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let (scope, resource, depth) = match parts.as_slice() {
            ["organizations"] => (Scope::Organization, "organizations", 1),
            ["organizations", _] => (Scope::Organization, "organizations", 2),
            ["organizations", _, seg, ..] => (
                Scope::Organization,
                resource_of(Scope::Organization, seg)?,
                parts.len(),
            ),
            ["zones"] => (Scope::Organization, "zones", 1),
            ["zones", _] => (Scope::Zone, "zones", 2),
            ["zones", _, seg, ..] => (Scope::Zone, resource_of(Scope::Zone, seg)?, parts.len()),
            _ => return None,
        };
        let last = parts.last().copied().unwrap_or_default();
        let action = match method {
            "GET" | "HEAD" if resource == "secrets" && depth == 4 => Action::Reveal,
            "GET" | "HEAD" => Action::Read,
            // The dry-run evaluation reads.
            "POST" if last == "evaluate" => Action::Read,
            "POST" if last == "rotate" => Action::Update,
            "POST" => Action::Create,
            "PATCH" | "PUT" => Action::Update,
            "DELETE" => Action::Delete,
            _ => return None,
        };
        Some(Self {
            resource,
            action,
            scope,
        })
    }
}

/// How far a principal may go in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The zone is not visible at all.
    None,
    Read,
    Manage,
}

/// What a principal holds in its organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// API keys and service accounts: everything in their organization (platform-admin keys in
    /// every organization, and they alone create organizations).
    Machine { platform_admin: bool },
    /// A person: their organization role (none before they accept their invitation) and, for
    /// `org_member`s, their zone roles.
    Person {
        role: Option<OrgRole>,
        zones: BTreeMap<ZoneId, ZoneRole>,
    },
}

impl Grants {
    /// The grants of a principal; a person's zone roles are given by the caller (`zones`).
    pub fn of(who: &Principal, zones: Vec<(ZoneId, ZoneRole)>) -> Self {
        match who {
            Principal::User { role, .. } => Self::Person {
                role: *role,
                zones: zones.into_iter().collect(),
            },
            other => Self::Machine {
                platform_admin: other.is_platform_admin(),
            },
        }
    }

    /// The level in `zone` of the principal's organization.
    pub fn zone_level(&self, zone: &ZoneId) -> Level {
        match self {
            Self::Machine { .. }
            | Self::Person {
                role: Some(OrgRole::OrgAdmin),
                ..
            } => Level::Manage,
            Self::Person {
                role: Some(OrgRole::OrgViewer),
                ..
            } => Level::Read,
            Self::Person {
                role: Some(OrgRole::OrgMember),
                zones,
            } => match zones.get(zone) {
                Some(ZoneRole::ZoneManager) => Level::Manage,
                Some(ZoneRole::ZoneViewer) => Level::Read,
                None => Level::None,
            },
            Self::Person { role: None, .. } => Level::None,
        }
    }

    /// The level in the organization itself (its settings, people, invitations, accounts).
    pub fn org_level(&self) -> Level {
        match self {
            Self::Machine { .. }
            | Self::Person {
                role: Some(OrgRole::OrgAdmin),
                ..
            } => Level::Manage,
            Self::Person { role: Some(_), .. } => Level::Read,
            Self::Person { role: None, .. } => Level::None,
        }
    }

    /// Whether the principal may perform `op` (in `zone`, for zone-scoped operations). Callers
    /// have already established that the object is in the principal's organization.
    pub fn allows(&self, op: Operation, zone: Option<&ZoneId>) -> bool {
        let platform_admin = matches!(
            self,
            Self::Machine {
                platform_admin: true
            }
        );
        match (op.scope, op.resource, op.action) {
            (Scope::Organization, "organizations", Action::Create) => platform_admin,
            // Reading the audit log is for organization admins only.
            (Scope::Organization, "audit_events", _) => self.org_level() == Level::Manage,
            // Listing zones: everyone in the organization (the list holds the visible ones).
            (Scope::Organization, "zones", Action::Read) => self.org_level() >= Level::Read,
            (Scope::Organization, "zones", _) => self.org_level() == Level::Manage,
            (Scope::Organization, _, action) => allowed(self.org_level(), action),
            (Scope::Zone, _, action) => zone.is_some_and(|z| allowed(self.zone_level(z), action)),
        }
    }

    /// The `permissions` expansion: every action on every resource type of the scope, from
    /// [`Grants::allows`].
    pub fn permissions(&self, scope: Scope, zone: Option<&ZoneId>) -> Permissions {
        let resources = match scope {
            Scope::Organization => ORG_RESOURCES,
            Scope::Zone => ZONE_RESOURCES,
        };
        resources
            .iter()
            .map(|resource| {
                let actions = actions_of(resource)
                    .iter()
                    .map(|&action| {
                        let op = Operation {
                            resource,
                            action,
                            scope,
                        };
                        (action.as_str().to_owned(), self.allows(op, zone))
                    })
                    .collect();
                ((*resource).to_owned(), actions)
            })
            .collect()
    }
}

fn allowed(level: Level, action: Action) -> bool {
    match level {
        Level::Manage => true,
        Level::Read => !action.writes(),
        Level::None => false,
    }
}

/// The actions reported for a resource type.
fn actions_of(resource: &str) -> &'static [Action] {
    const CRUD: &[Action] = &[Action::Read, Action::Create, Action::Update, Action::Delete];
    match resource {
        "secrets" => &[
            Action::Read,
            Action::Reveal,
            Action::Create,
            Action::Update,
            Action::Delete,
        ],
        "audit_events" => &[Action::Read],
        _ => CRUD,
    }
}

#[cfg(test)]
#[path = "authz_tests.rs"]
mod tests;
