-- The audit log: every management write and every sign-in to the management API, kept by the
-- organization it concerns for the configured retention period. No foreign keys: an event
-- outlives the zone, object and principal it names.
CREATE TABLE audit_events (
    organization_id TEXT NOT NULL,
    id              TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    actor_type      TEXT,
    actor_id        TEXT,
    action          TEXT NOT NULL,
    object_type     TEXT,
    object_id       TEXT,
    zone_id         TEXT,
    request_id      TEXT NOT NULL,
    source_address  TEXT,
    outcome         TEXT NOT NULL,
    status          BIGINT NOT NULL,
    PRIMARY KEY (organization_id, id)
);
-- The list order (newest first, `id` breaking ties) and each filter within an organization.
CREATE INDEX audit_events_order ON audit_events (organization_id, created_at, id);
CREATE INDEX audit_events_actor ON audit_events (organization_id, actor_id, created_at);
CREATE INDEX audit_events_object ON audit_events (organization_id, object_type, object_id, created_at);
CREATE INDEX audit_events_zone ON audit_events (organization_id, zone_id, created_at);
CREATE INDEX audit_events_action ON audit_events (organization_id, action, created_at);
-- Retention purges by age across organizations.
CREATE INDEX audit_events_age ON audit_events (created_at);
