-- Organization SSO connections: at most one per organization. The connection carries what the
-- management API shows; `provider_id` names the platform-owned provider of the organization's
-- platform zone that the sign-in flow uses (kept in step by the store). `client_secret` is sealed
-- under that provider's secret context (the provider holds the same bytes); `protocols` is JSON.
CREATE TABLE sso_connections (
    organization_id TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    id              TEXT NOT NULL UNIQUE,
    provider_id     TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    client_id       TEXT,
    client_secret   BYTEA,
    protocols       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
