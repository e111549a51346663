-- The people of an organization: users of its platform zone with an organization role
-- (`id` is the user's id in that zone), and their roles in individual zones.
CREATE TABLE organization_users (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX organization_users_order ON organization_users (organization_id, created_at, id);
CREATE INDEX organization_users_role ON organization_users (organization_id, role);

CREATE TABLE zone_members (
    zone_id              TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    organization_user_id TEXT NOT NULL,
    id                   TEXT NOT NULL UNIQUE,
    organization_id      TEXT NOT NULL,
    role                 TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (zone_id, organization_user_id),
    FOREIGN KEY (organization_id, organization_user_id)
        REFERENCES organization_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX zone_members_order ON zone_members (zone_id, created_at, id);
CREATE INDEX zone_members_user ON zone_members (organization_id, organization_user_id);

-- Who spent an invitation (so accepting twice as the same person is harmless).
ALTER TABLE invitations ADD COLUMN accepted_by TEXT;
