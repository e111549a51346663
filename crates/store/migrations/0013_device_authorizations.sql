-- The device authorization grant (RFC 8628): one row per device authorization, keyed by zone and
-- the device code's keyed hash; the user code's keyed hash is unique within the zone. Status is
-- `pending`, `approved`, `denied` or `consumed`; the approving user and web session are set by
-- the verification page; the polling interval grows with each `slow_down`.
CREATE TABLE device_authorizations (
    zone_id          TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    device_code_hash TEXT NOT NULL,
    user_code_hash   TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    scope            TEXT,
    resources        TEXT NOT NULL,
    status           TEXT NOT NULL,
    user_id          TEXT,
    session_id       TEXT,
    expires_at       BIGINT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    last_poll_at     BIGINT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (zone_id, device_code_hash)
);
CREATE UNIQUE INDEX device_authorizations_user_code ON device_authorizations (zone_id, user_code_hash);
CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);
