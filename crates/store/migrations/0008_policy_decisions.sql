-- The policy decision log: every Cedar evaluation at issuance (and a differing shadow decision),
-- kept for the configured retention period.
CREATE TABLE policy_decisions (
    zone_id            TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    principal_type     TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    subject_id         TEXT,
    action             TEXT NOT NULL,
    resource_id        TEXT NOT NULL,
    decision           TEXT NOT NULL,
    determining        TEXT NOT NULL,
    policy_set_id      TEXT,
    policy_set_version BIGINT,
    shadow             TEXT,
    scopes             TEXT NOT NULL,
    PRIMARY KEY (zone_id, id)
);
CREATE INDEX policy_decisions_order ON policy_decisions (zone_id, created_at, id);
CREATE INDEX policy_decisions_age ON policy_decisions (created_at);
