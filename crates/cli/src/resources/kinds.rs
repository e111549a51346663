//! The table of resource kinds the CLI manages: where each lives in the management API, which
//! operations it has, which field flags apply, and the columns of its list table.

/// Where a kind's collection lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/zones`.
    Root,
    /// `/organizations/{org}/{segment}`.
    Org,
    /// `/zones/{zone}/{segment}`.
    Zone,
}

/// One resource kind.
#[derive(Debug)]
pub struct Kind {
    /// The command name (`zones`) and the noun of messages (`zone`).
    pub noun: &'static str,
    pub scope: Scope,
    /// The collection's last path segment.
    pub segment: &'static str,
    /// Field flags that apply (names of [`crate::resources::crud::Fields`]).
    pub flags: &'static [&'static str],
    /// List table columns (dotted paths).
    pub columns: &'static [&'static str],
    pub can_get: bool,
    pub can_update: bool,
}

impl Kind {
    /// The collection path (`org` and `zone` as resolved for the call).
    pub fn collection(&self, org: &str, zone: &str) -> String {
        let seg = crate::context::segment;
        match self.scope {
            Scope::Root => "/zones".to_owned(),
            Scope::Org => format!("/organizations/{}/{}", seg(org), self.segment),
            Scope::Zone => format!("/zones/{}/{}", seg(zone), self.segment),
        }
    }
}

pub static ZONES: Kind = Kind {
    noun: "zone",
    scope: Scope::Root,
    segment: "zones",
    flags: &["name", "description"],
    columns: &["id", "name", "organization_id", "created_at"],
    can_get: true,
    can_update: true,
};

pub static APPLICATIONS: Kind = Kind {
    noun: "application",
    scope: Scope::Zone,
    segment: "applications",
    flags: &["name", "description", "identifier"],
    columns: &["id", "name", "identifier", "owner_type"],
    can_get: true,
    can_update: true,
};

pub static CREDENTIALS: Kind = Kind {
    noun: "application credential",
    scope: Scope::Zone,
    segment: "application-credentials",
    flags: &["type", "application", "identifier"],
    columns: &["id", "type", "application_id", "identifier"],
    can_get: true,
    can_update: true,
};

pub static RESOURCES: Kind = Kind {
    noun: "resource",
    scope: Scope::Zone,
    segment: "resources",
    flags: &["name", "description", "identifier", "application"],
    columns: &["id", "name", "identifier", "owner_type"],
    can_get: true,
    can_update: true,
};

pub static PROVIDERS: Kind = Kind {
    noun: "provider",
    scope: Scope::Zone,
    segment: "providers",
    flags: &["name", "description", "identifier"],
    columns: &["id", "name", "type", "identifier"],
    can_get: true,
    can_update: true,
};

pub static SECRETS: Kind = Kind {
    noun: "secret",
    scope: Scope::Zone,
    segment: "secrets",
    flags: &["name", "description"],
    columns: &["id", "name", "type", "version", "entity_id"],
    can_get: true,
    can_update: true,
};

pub static POLICIES: Kind = Kind {
    noun: "policy",
    scope: Scope::Zone,
    segment: "policies",
    flags: &["name", "description"],
    columns: &["id", "name", "latest_version", "owner_type", "archived_at"],
    can_get: true,
    can_update: true,
};

pub static POLICY_SETS: Kind = Kind {
    noun: "policy set",
    scope: Scope::Zone,
    segment: "policy-sets",
    flags: &["name"],
    columns: &["id", "name", "active", "active_version", "latest_version"],
    can_get: true,
    can_update: true,
};

pub static MEMBERS: Kind = Kind {
    noun: "zone member",
    scope: Scope::Zone,
    segment: "members",
    flags: &["user", "role"],
    columns: &["organization_user_id", "role", "created_at"],
    can_get: true,
    can_update: true,
};

pub static INVITATIONS: Kind = Kind {
    noun: "invitation",
    scope: Scope::Org,
    segment: "invitations",
    flags: &["email", "role"],
    columns: &["id", "email", "role", "status", "expires_at"],
    can_get: false,
    can_update: false,
};

pub static SERVICE_ACCOUNTS: Kind = Kind {
    noun: "service account",
    scope: Scope::Org,
    segment: "service-accounts",
    flags: &["name", "description"],
    columns: &["id", "name", "description", "created_at"],
    can_get: true,
    can_update: true,
};
