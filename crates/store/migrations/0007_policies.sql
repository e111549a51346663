-- Cedar policies (spec §4.13–4.15): platform-wide schema versions, each zone's default schema,
-- policies with their immutable versions, and policy sets with their immutable manifest versions
-- and bindings (the active and the shadow version, for `target_id`). Zone tables are keyed by
-- (zone_id, id) and cascade from their zone; a version references its parent by (zone_id, parent)
-- so it cannot point outside its zone. The binding columns of `policy_sets` are checked by the
-- store's binding statement (a version of the same set in the same zone), not by a foreign key,
-- since versions also reference their set. JSON values (Cedar JSON, manifests, attestations) are
-- text; timestamps are milliseconds.
CREATE TABLE policy_schema_versions (
    version       TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    cedar         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deprecated_at BIGINT,
    archived_at   BIGINT
);

-- The schema version a zone's new policies default to (no row: the newest active version).
CREATE TABLE zone_policy_schemas (
    zone_id        TEXT PRIMARY KEY REFERENCES zones (id) ON DELETE CASCADE,
    schema_version TEXT NOT NULL REFERENCES policy_schema_versions (version)
);

CREATE TABLE policies (
    zone_id               TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id                    TEXT NOT NULL,
    name                  TEXT COLLATE "C" NOT NULL,
    description           TEXT,
    owner_type            TEXT NOT NULL,
    latest_version        BIGINT,
    latest_version_id     TEXT,
    latest_schema_version TEXT,
    created_at            BIGINT NOT NULL,
    created_by            TEXT NOT NULL,
    updated_at            BIGINT NOT NULL,
    updated_by            TEXT,
    archived_at           BIGINT,
    archived_by           TEXT,
    PRIMARY KEY (zone_id, id)
);
CREATE INDEX policies_order ON policies (zone_id, created_at, id);
CREATE INDEX policies_name ON policies (zone_id, name);

CREATE TABLE policy_versions (
    zone_id        TEXT NOT NULL,
    id             TEXT NOT NULL,
    policy_id      TEXT NOT NULL,
    version        BIGINT NOT NULL,
    schema_version TEXT NOT NULL REFERENCES policy_schema_versions (version),
    owner_type     TEXT NOT NULL,
    cedar_raw      TEXT NOT NULL,
    cedar_json     TEXT NOT NULL,
    sha            TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    archived_at    BIGINT,
    archived_by    TEXT,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, policy_id, version),
    FOREIGN KEY (zone_id, policy_id) REFERENCES policies (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX policy_versions_order ON policy_versions (zone_id, created_at, id);
CREATE INDEX policy_versions_policy ON policy_versions (zone_id, policy_id, created_at, id);

CREATE TABLE policy_sets (
    zone_id           TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    name              TEXT COLLATE "C" NOT NULL,
    owner_type        TEXT NOT NULL,
    target_type       TEXT NOT NULL,
    target_id         TEXT,
    latest_version    BIGINT,
    latest_version_id TEXT,
    active_version_id TEXT,
    shadow_version_id TEXT,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        BIGINT NOT NULL,
    updated_by        TEXT,
    archived_at       BIGINT,
    archived_by       TEXT,
    PRIMARY KEY (zone_id, id)
);
CREATE INDEX policy_sets_order ON policy_sets (zone_id, created_at, id);
CREATE INDEX policy_sets_name ON policy_sets (zone_id, name);
CREATE INDEX policy_sets_target ON policy_sets (zone_id, target_type, target_id);

CREATE TABLE policy_set_versions (
    zone_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    policy_set_id   TEXT NOT NULL,
    version         BIGINT NOT NULL,
    schema_version  TEXT NOT NULL REFERENCES policy_schema_versions (version),
    owner_type      TEXT NOT NULL,
    manifest        TEXT NOT NULL,
    manifest_sha    TEXT NOT NULL,
    attestation     TEXT,
    attestation_jws TEXT,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    archived_at     BIGINT,
    archived_by     TEXT,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, policy_set_id, version),
    FOREIGN KEY (zone_id, policy_set_id) REFERENCES policy_sets (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX policy_set_versions_order ON policy_set_versions (zone_id, policy_set_id, created_at, id);

-- The built-in Keycard schemas (the same texts as `latchkey-policy`'s `schemas/*.cedarschema`).
-- A newer schema version is a new migration.
INSERT INTO policy_schema_versions (version, status, cedar, created_at, updated_at, deprecated_at, archived_at) VALUES
('2026-03-16', 'deprecated', '// Latchkey''s Keycard schema, version 2026-03-16: one action, `Access`, evaluated whenever the zone
// is asked for a credential. Entity ids are the objects'' public ids.
namespace Keycard {
  // How an application was registered.
  entity RegistrationMethod enum ["managed", "dcr"];

  // The kind of credential the application authenticated with for this request.
  entity CredentialType enum ["token", "password", "public-key", "url", "public"];

  // A protected resource (API, MCP server, upstream provider or vault-backed credential).
  entity Resource = {
    id: String,
    identifier: String,
    name: String,
    scopes: Set<String>,
  };

  // A zone user.
  entity User = {
    identifier: String,
    email: String,
    groups: Set<String>,
  };

  // An OAuth client of the zone.
  entity Application = {
    identifier: String,
    registration_method: RegistrationMethod,
    credential_type: CredentialType,
    dependencies: Set<Resource>,
    traits: Set<String>,
  };

  // Claims of a token presented in the request (subject or actor token).
  type Claims = {
    sub?: String,
    iss?: String,
    email?: String,
    email_verified?: Bool,
    name?: String,
    groups?: Set<String>,
  };

  // The user a request acts for (delegation) or as (impersonation).
  type Subject = {
    id: String,
    identifier: String,
  };

  type AccessContext = {
    on_behalf: Bool,
    impersonate: Bool,
    subject?: Subject,
    scopes: Set<String>,
    subject_claims?: Claims,
    actor_claims?: Claims,
  };

  // Issue (or broker) a credential for the resource.
  action Access appliesTo {
    principal: [User, Application],
    resource: [Resource],
    context: AccessContext,
  };
}
', 1773619200000, 1781740800000, 1781740800000, NULL),
('2026-06-18', 'active', '// Latchkey''s Keycard schema, version 2026-06-18: 2026-03-16 plus the tool actions `ReadTools`,
// `WriteTools` and `ControlTools` for users (per-user tool-use bundles). Entity ids are the
// objects'' public ids.
namespace Keycard {
  // How an application was registered.
  entity RegistrationMethod enum ["managed", "dcr"];

  // The kind of credential the application authenticated with for this request.
  entity CredentialType enum ["token", "password", "public-key", "url", "public"];

  // A protected resource (API, MCP server, upstream provider or vault-backed credential).
  entity Resource = {
    id: String,
    identifier: String,
    name: String,
    scopes: Set<String>,
  };

  // A zone user.
  entity User = {
    identifier: String,
    email: String,
    groups: Set<String>,
  };

  // An OAuth client of the zone.
  entity Application = {
    identifier: String,
    registration_method: RegistrationMethod,
    credential_type: CredentialType,
    dependencies: Set<Resource>,
    traits: Set<String>,
  };

  // Claims of a token presented in the request (subject or actor token).
  type Claims = {
    sub?: String,
    iss?: String,
    email?: String,
    email_verified?: Bool,
    name?: String,
    groups?: Set<String>,
  };

  // The user a request acts for (delegation) or as (impersonation).
  type Subject = {
    id: String,
    identifier: String,
  };

  type AccessContext = {
    on_behalf: Bool,
    impersonate: Bool,
    subject?: Subject,
    scopes: Set<String>,
    subject_claims?: Claims,
    actor_claims?: Claims,
  };

  // Issue (or broker) a credential for the resource.
  action Access appliesTo {
    principal: [User, Application],
    resource: [Resource],
    context: AccessContext,
  };

  // Tool use by a user on a resource (read-only, mutating, and control tools).
  action ReadTools, WriteTools, ControlTools appliesTo {
    principal: [User],
    resource: [Resource],
    context: AccessContext,
  };
}
', 1781740800000, 1781740800000, NULL, NULL);
