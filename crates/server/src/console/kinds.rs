//! What the console knows about each kind of zone object it lists with the generic pages of
//! `directory.rs`: its API path, the columns of its list, the fields of its create and edit
//! forms, and whether it can be searched and deleted.

/// How a form field is entered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    Long,
    Url,
    Number,
    /// One value per line; sent as an array of strings.
    Lines,
    Check,
    /// Write-only (a password or token): never shown, left out when empty.
    Secret,
    Choice(&'static [&'static str]),
    /// The id of another object of the zone, chosen from its list (`kinds` path).
    Ref(&'static str),
}

/// One form field: its JSON name (dotted names nest), label, input and help text.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub required: bool,
    pub hint: &'static str,
}

impl Field {
    pub const fn new(name: &'static str, label: &'static str, input: Input) -> Self {
        Self {
            name,
            label,
            input,
            required: false,
            hint: "",
        }
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }
}

/// A kind of zone object.
pub struct Kind {
    /// The path segment, the same in the API and the console (`applications`).
    pub path: &'static str,
    pub title: &'static str,
    pub singular: &'static str,
    /// The field whose value names an object in the API's paths (`id`; a zone member is
    /// addressed by its `organization_user_id`).
    pub key: &'static str,
    pub columns: &'static [(&'static str, &'static str)],
    pub create: &'static [Field],
    pub edit: &'static [Field],
    pub delete: bool,
    pub search: bool,
    /// What to do when the list is empty.
    pub empty_hint: &'static str,
}

use Input::*;

const APP_FIELDS: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("identifier", "Identifier", Text)
        .required()
        .hint("Unique in the zone, e.g. the application's URL."),
    Field::new("description", "Description", Long),
    Field::new("consent", "Consent", Choice(&["required", "implicit"])),
    Field::new("protocols.oauth2.redirect_uris", "Redirect URIs", Lines)
        .hint("One per line; matched exactly."),
    Field::new(
        "protocols.oauth2.post_logout_redirect_uris",
        "Post-logout redirect URIs",
        Lines,
    ),
];

const RESOURCE_FIELDS: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("identifier", "Identifier", Text)
        .required()
        .hint("The resource indicator clients ask for, usually its URL."),
    Field::new("description", "Description", Long),
    Field::new("scopes", "Scopes", Lines).hint("One per line."),
    Field::new(
        "credential_lifetime_seconds",
        "Token lifetime (seconds)",
        Number,
    ),
    Field::new(
        "credential_provider_id",
        "Credential provider",
        Ref("providers"),
    )
    .hint("The provider that issues upstream credentials for it."),
    Field::new(
        "application_id",
        "Provided by application",
        Ref("applications"),
    ),
    Field::new(
        "application_type",
        "Client type",
        Choice(&["native", "web"]),
    ),
    Field::new("prefix", "Identifier is a URI prefix", Check),
];

const PROVIDER_FIELDS: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("identifier", "Identifier (issuer URL)", Url).required(),
    Field::new("description", "Description", Long),
    Field::new("client_id", "Client id", Text),
    Field::new("client_secret", "Client secret", Secret)
        .hint("Stored encrypted; never shown again."),
    Field::new(
        "protocols.oauth2.authorization_endpoint",
        "Authorization endpoint",
        Url,
    )
    .hint("Leave empty to use discovery."),
    Field::new("protocols.oauth2.token_endpoint", "Token endpoint", Url),
    Field::new("protocols.oauth2.jwks_uri", "JWKS URI", Url),
    Field::new("protocols.oauth2.scopes_supported", "Scopes", Lines),
];

const PROVIDER_EDIT: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("description", "Description", Long),
    Field::new("client_id", "Client id", Text),
    Field::new("client_secret", "New client secret", Secret)
        .hint("Leave empty to keep the current one."),
];

const SECRET_FIELDS: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("entity_id", "Entity", Text)
        .required()
        .hint("The id of what the secret belongs to, e.g. a resource id."),
    Field::new("description", "Description", Text),
    Field::new("data.type", "Type", Choice(&["token", "password"])).required(),
    Field::new("data.token", "Token", Secret).hint("For type token."),
    Field::new("data.username", "Username", Text).hint("For type password."),
    Field::new("data.password", "Password", Secret).hint("For type password."),
];

const SECRET_EDIT: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("description", "Description", Text),
];

const NAME_DESCRIPTION: &[Field] = &[
    Field::new("name", "Name", Text).required(),
    Field::new("description", "Description", Long),
];

const MEMBER_FIELDS: &[Field] = &[
    Field::new(
        "organization_user_id",
        "Person (organization user id)",
        Text,
    )
    .required(),
    Field::new("role", "Role", Choice(&["zone_manager", "zone_viewer"])).required(),
];

pub const KINDS: &[Kind] = &[
    Kind {
        path: "applications",
        title: "Applications",
        singular: "application",
        key: "id",
        columns: &[
            ("Name", "name"),
            ("Identifier", "identifier"),
            ("Dependencies", "dependencies_count"),
            ("Owner", "owner_type"),
        ],
        create: APP_FIELDS,
        edit: APP_FIELDS,
        delete: true,
        search: true,
        empty_hint: "Add the first application: an agent, a service or an app that gets tokens from this zone.",
    },
    Kind {
        path: "application-credentials",
        title: "Credentials",
        singular: "credential",
        key: "id",
        columns: &[
            ("Identifier (client id)", "identifier"),
            ("Type", "type"),
            ("Application", "application_id"),
            ("Created", "created_at"),
        ],
        create: &[],
        edit: &[],
        delete: true,
        search: false,
        empty_hint: "Give an application a credential so it can sign in at the token endpoint.",
    },
    Kind {
        path: "resources",
        title: "Resources",
        singular: "resource",
        key: "id",
        columns: &[
            ("Name", "name"),
            ("Identifier", "identifier"),
            ("Scopes", "scopes"),
            ("Owner", "owner_type"),
        ],
        create: RESOURCE_FIELDS,
        edit: RESOURCE_FIELDS,
        delete: true,
        search: true,
        empty_hint: "Add an API or MCP server that applications may get tokens for.",
    },
    Kind {
        path: "providers",
        title: "Providers",
        singular: "provider",
        key: "id",
        columns: &[
            ("Name", "name"),
            ("Identifier", "identifier"),
            ("Type", "type"),
            ("Owner", "owner_type"),
        ],
        create: PROVIDER_FIELDS,
        edit: PROVIDER_EDIT,
        delete: true,
        search: true,
        empty_hint: "Connect an identity provider (for sign-in) or an upstream API's authorization server.",
    },
    Kind {
        path: "secrets",
        title: "Secrets",
        singular: "secret",
        key: "id",
        columns: &[
            ("Name", "name"),
            ("Type", "type"),
            ("Entity", "entity_id"),
            ("Version", "version"),
        ],
        create: SECRET_FIELDS,
        edit: SECRET_EDIT,
        delete: true,
        search: false,
        empty_hint: "Store an upstream API key or password in the vault; values are write-only here.",
    },
    Kind {
        path: "users",
        title: "Users",
        singular: "user",
        key: "id",
        columns: &[
            ("Email", "email"),
            ("Identifier", "identifier"),
            ("Created", "created_at"),
        ],
        create: &[],
        edit: &[],
        delete: false,
        search: true,
        empty_hint: "People appear here after they sign in to this zone.",
    },
    Kind {
        path: "sessions",
        title: "Sessions",
        singular: "session",
        key: "id",
        columns: &[
            ("Session", "id"),
            ("Type", "session_type"),
            ("User", "user_id"),
            ("Created", "created_at"),
            ("Expires", "expires_at"),
        ],
        create: &[],
        edit: &[],
        delete: true,
        search: false,
        empty_hint: "Sign-ins and application sessions appear here; revoke one to end it at once.",
    },
    Kind {
        path: "delegated-grants",
        title: "Delegated grants",
        singular: "delegated grant",
        key: "id",
        columns: &[
            ("Grant", "id"),
            ("User", "user_id"),
            ("Resource", "resource_id"),
            ("Status", "status"),
            ("Expires", "expires_at"),
        ],
        create: &[],
        edit: &[],
        delete: true,
        search: false,
        empty_hint: "Grants appear when people let applications reach upstream APIs for them.",
    },
    Kind {
        path: "user-agents",
        title: "User agents",
        singular: "user agent",
        key: "id",
        columns: &[
            ("Name", "name"),
            ("Identifier", "identifier"),
            ("Created", "created_at"),
        ],
        create: &[],
        edit: &[],
        delete: true,
        search: false,
        empty_hint: "Clients registered through dynamic client registration appear here.",
    },
    Kind {
        path: "members",
        title: "Members",
        singular: "member",
        key: "organization_user_id",
        columns: &[
            ("Person", "email"),
            ("Role", "role"),
            ("Added", "created_at"),
        ],
        create: MEMBER_FIELDS,
        edit: &[Field::new("role", "Role", Choice(&["zone_manager", "zone_viewer"])).required()],
        delete: true,
        search: false,
        empty_hint: "Give organization members a role in this zone (org admins manage every zone).",
    },
];

/// The kind at `path`.
pub fn kind(path: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.path == path)
}

/// The fields of a policy (also used by policy sets for their name).
pub const POLICY_FIELDS: &[Field] = NAME_DESCRIPTION;
