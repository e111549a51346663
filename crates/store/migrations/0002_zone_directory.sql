-- Zone directory: applications, dependencies, application credentials, providers, resources,
-- the secrets vault, and the identity records (users, user agents, sessions, delegated grants).
-- Every table is keyed by (zone_id, id) and cascades from its zone. Cross-references are
-- composite foreign keys on (zone_id, x_id), so a reference can only point inside its own zone.
-- References that must be cleared rather than followed (SET NULL) are cleared explicitly by the
-- store in the deleting transaction. JSON values are text.
CREATE TABLE applications (
    zone_id                   TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id                        TEXT NOT NULL,
    organization_id           TEXT NOT NULL,
    identifier                TEXT COLLATE "C" NOT NULL,
    name                      TEXT COLLATE "C" NOT NULL,
    slug                      TEXT NOT NULL,
    owner_type                TEXT NOT NULL,
    consent                   TEXT NOT NULL,
    description               TEXT,
    metadata                  TEXT,
    redirect_uris             TEXT,
    post_logout_redirect_uris TEXT,
    traits                    TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, identifier),
    UNIQUE (zone_id, slug)
);
CREATE INDEX applications_order ON applications (zone_id, created_at, id);

CREATE TABLE providers (
    zone_id         TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    identifier      TEXT COLLATE "C" NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    slug            TEXT NOT NULL,
    owner_type      TEXT NOT NULL,
    type            TEXT NOT NULL,
    client_id       TEXT,
    client_secret   BYTEA,
    description     TEXT,
    metadata        TEXT,
    protocols       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, identifier),
    UNIQUE (zone_id, slug)
);
CREATE INDEX providers_order ON providers (zone_id, created_at, id);

CREATE TABLE resources (
    zone_id                     TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id                          TEXT NOT NULL,
    organization_id             TEXT NOT NULL,
    identifier                  TEXT COLLATE "C" NOT NULL,
    name                        TEXT COLLATE "C" NOT NULL,
    slug                        TEXT NOT NULL,
    owner_type                  TEXT NOT NULL,
    application_id              TEXT,
    application_type            TEXT NOT NULL,
    credential_lifetime_seconds BIGINT,
    credential_provider_id      TEXT,
    description                 TEXT,
    metadata                    TEXT,
    prefix                      INTEGER NOT NULL,
    scopes                      TEXT,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, identifier),
    UNIQUE (zone_id, slug),
    FOREIGN KEY (zone_id, application_id) REFERENCES applications (zone_id, id),
    FOREIGN KEY (zone_id, credential_provider_id) REFERENCES providers (zone_id, id)
);
CREATE INDEX resources_order ON resources (zone_id, created_at, id);
CREATE INDEX resources_application ON resources (zone_id, application_id);
CREATE INDEX resources_provider ON resources (zone_id, credential_provider_id);

CREATE TABLE application_dependencies (
    zone_id        TEXT NOT NULL,
    application_id TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (zone_id, application_id, resource_id),
    FOREIGN KEY (zone_id, application_id) REFERENCES applications (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, resource_id) REFERENCES resources (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX application_dependencies_resource ON application_dependencies (zone_id, resource_id);

-- `when_accessing`: the dependency becomes available when any of these resources is accessed.
CREATE TABLE dependency_conditions (
    zone_id          TEXT NOT NULL,
    application_id   TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    when_resource_id TEXT NOT NULL,
    PRIMARY KEY (zone_id, application_id, resource_id, when_resource_id),
    FOREIGN KEY (zone_id, application_id, resource_id)
        REFERENCES application_dependencies (zone_id, application_id, resource_id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, when_resource_id) REFERENCES resources (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX dependency_conditions_when ON dependency_conditions (zone_id, when_resource_id);

CREATE TABLE application_credentials (
    zone_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    application_id  TEXT NOT NULL,
    type            TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    client_id       TEXT,
    slug            TEXT NOT NULL,
    subject         TEXT,
    provider_id     TEXT,
    jwks_uri        TEXT,
    secret_hash     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, client_id),
    UNIQUE (zone_id, slug),
    FOREIGN KEY (zone_id, application_id) REFERENCES applications (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, provider_id) REFERENCES providers (zone_id, id)
);
CREATE INDEX application_credentials_order ON application_credentials (zone_id, created_at, id);
CREATE INDEX application_credentials_application ON application_credentials (zone_id, application_id);
CREATE INDEX application_credentials_provider ON application_credentials (zone_id, provider_id);

CREATE TABLE secrets (
    zone_id     TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    type        TEXT NOT NULL,
    owner_type  TEXT NOT NULL,
    metadata    TEXT,
    version     BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id)
);
CREATE INDEX secrets_order ON secrets (zone_id, created_at, id);

CREATE TABLE users (
    zone_id          TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    organization_id  TEXT NOT NULL,
    email            TEXT COLLATE "C" NOT NULL,
    email_verified   INTEGER NOT NULL,
    external         INTEGER NOT NULL,
    identifier       TEXT COLLATE "C" NOT NULL,
    status           TEXT NOT NULL,
    authenticated_at BIGINT,
    issuer           TEXT,
    provider_id      TEXT,
    subject          TEXT,
    password_hash    TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, identifier),
    FOREIGN KEY (zone_id, provider_id) REFERENCES providers (zone_id, id)
);
CREATE INDEX users_order ON users (zone_id, created_at, id);
CREATE INDEX users_email ON users (zone_id, email);
CREATE INDEX users_subject ON users (zone_id, issuer, subject);

CREATE TABLE user_agents (
    zone_id         TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    registration    TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    UNIQUE (zone_id, identifier),
    UNIQUE (zone_id, slug)
);
CREATE INDEX user_agents_order ON user_agents (zone_id, created_at, id);

CREATE TABLE sessions (
    zone_id          TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    organization_id  TEXT NOT NULL,
    session_type     TEXT NOT NULL,
    user_id          TEXT,
    application_id   TEXT,
    user_agent_id    TEXT,
    parent_id        TEXT,
    provider_id      TEXT,
    issuer           TEXT,
    subject          TEXT,
    metadata_name    TEXT,
    session_data     TEXT,
    status           TEXT NOT NULL,
    authenticated_at BIGINT,
    expires_at       BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    FOREIGN KEY (zone_id, user_id) REFERENCES users (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, parent_id) REFERENCES sessions (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, user_agent_id) REFERENCES user_agents (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, application_id) REFERENCES applications (zone_id, id),
    FOREIGN KEY (zone_id, provider_id) REFERENCES providers (zone_id, id)
);
CREATE INDEX sessions_order ON sessions (zone_id, created_at, id);
CREATE INDEX sessions_parent ON sessions (zone_id, parent_id);
CREATE INDEX sessions_user ON sessions (zone_id, user_id);

CREATE TABLE delegated_grants (
    zone_id           TEXT NOT NULL,
    id                TEXT NOT NULL,
    organization_id   TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    resource_id       TEXT NOT NULL,
    provider_id       TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    status            TEXT NOT NULL,
    expires_at        BIGINT NOT NULL,
    refresh_token_set INTEGER NOT NULL,
    refreshed_at      BIGINT,
    access_token      BYTEA,
    refresh_token     BYTEA,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id),
    FOREIGN KEY (zone_id) REFERENCES zones (id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, user_id) REFERENCES users (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, resource_id) REFERENCES resources (zone_id, id) ON DELETE CASCADE,
    FOREIGN KEY (zone_id, provider_id) REFERENCES providers (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX delegated_grants_order ON delegated_grants (zone_id, created_at, id);
CREATE INDEX delegated_grants_user ON delegated_grants (zone_id, user_id);

-- Every zone has the platform-owned keycard-sts and keycard-vault providers.
INSERT INTO providers (zone_id, id, organization_id, identifier, name, slug, owner_type, type,
                       created_at, updated_at)
SELECT id, 'sts' || substr(id, 1, 23), organization_id, 'urn:keycard:sts', 'Keycard STS',
       'keycard-sts', 'platform', 'keycard-sts', created_at, created_at
FROM zones;
INSERT INTO providers (zone_id, id, organization_id, identifier, name, slug, owner_type, type,
                       created_at, updated_at)
SELECT id, 'vlt' || substr(id, 1, 23), organization_id, 'urn:keycard:vault', 'Keycard Vault',
       'keycard-vault', 'platform', 'keycard-vault', created_at, created_at
FROM zones;
