-- Foundation: server settings, organizations, zones, service accounts, API access.
-- Timestamps are integer milliseconds since the epoch; flags are 0/1 integers.
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    label       TEXT NOT NULL UNIQUE,
    sso_enabled INTEGER NOT NULL DEFAULT 0,
    zone_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX organizations_order ON organizations (created_at, id);

CREATE TABLE zones (
    id                                  TEXT PRIMARY KEY,
    organization_id                     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                                TEXT NOT NULL,
    description                         TEXT,
    slug                                TEXT NOT NULL,
    owner_type                          TEXT NOT NULL,
    external_sync_enabled               INTEGER NOT NULL,
    dcr_enabled                         INTEGER NOT NULL,
    pkce_required                       INTEGER NOT NULL,
    cimd_enabled                        INTEGER NOT NULL,
    cimd_allowed_client_ids             TEXT NOT NULL,
    requires_invitation                 INTEGER NOT NULL,
    login_flow                          TEXT NOT NULL,
    default_resource_id                 TEXT,
    default_mcp_gateway_application_id  TEXT,
    user_identity_provider_id           TEXT,
    encryption_key_arn                  TEXT,
    created_at                          BIGINT NOT NULL,
    updated_at                          BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);
CREATE INDEX zones_order ON zones (organization_id, created_at, id);

CREATE TABLE service_accounts (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX service_accounts_order ON service_accounts (organization_id, created_at, id);

CREATE TABLE service_account_credentials (
    organization_id    TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT,
    client_id          TEXT NOT NULL UNIQUE,
    secret_hash        TEXT NOT NULL,
    last_used_at       BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (organization_id, service_account_id, id),
    FOREIGN KEY (organization_id, service_account_id)
        REFERENCES service_accounts (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX service_account_credentials_order
    ON service_account_credentials (organization_id, service_account_id, created_at, id);

CREATE TABLE service_account_tokens (
    token_hash         TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL,
    service_account_id TEXT NOT NULL,
    credential_id      TEXT NOT NULL,
    expires_at         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    FOREIGN KEY (organization_id, service_account_id, credential_id)
        REFERENCES service_account_credentials (organization_id, service_account_id, id) ON DELETE CASCADE
);
CREATE INDEX service_account_tokens_credential
    ON service_account_tokens (organization_id, service_account_id, credential_id);
CREATE INDEX service_account_tokens_expiry ON service_account_tokens (expires_at);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    platform_admin  INTEGER NOT NULL,
    created_at      BIGINT NOT NULL
);
