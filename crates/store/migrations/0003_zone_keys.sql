-- Zone authorization servers: signing keys (staged next → current → previous), the signing
-- algorithm per zone, and the replay cache for client assertions.
ALTER TABLE zones ADD COLUMN signing_alg TEXT NOT NULL DEFAULT 'RS256';

CREATE TABLE signing_keys (
    zone_id      TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    kid          TEXT NOT NULL,
    alg          TEXT NOT NULL,
    status       TEXT NOT NULL,
    private_key  BYTEA NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retire_at    BIGINT,
    PRIMARY KEY (zone_id, kid)
);
CREATE INDEX signing_keys_status ON signing_keys (status, activated_at);

CREATE TABLE assertion_jtis (
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (zone_id, jti)
);
CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);
