-- Organization invitations: shown to the invitee by token (kept only as its keyed hash) and
-- accepted once; a pending invitation also lets that email sign up in the organization's zones.
CREATE TABLE invitations (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    status          TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    created_by      TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX invitations_order ON invitations (organization_id, created_at, id);
CREATE INDEX invitations_email ON invitations (organization_id, email);
