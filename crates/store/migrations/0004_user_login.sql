-- User login and delegated access: pending authorization requests, single-use codes, rotating
-- refresh tokens (by family, for reuse detection), browser sessions (the cookie's keyed hash on
-- a user session), remembered consents, and the state of upstream provider redirects.
ALTER TABLE sessions ADD COLUMN secret_hash TEXT;
CREATE UNIQUE INDEX sessions_secret ON sessions (secret_hash);

CREATE TABLE authorization_requests (
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    params     TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (zone_id, id)
);
CREATE INDEX authorization_requests_expiry ON authorization_requests (expires_at);

CREATE TABLE authorization_codes (
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    grant_data TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (zone_id, code_hash)
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    zone_id     TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT,
    grant_data  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT,
    revoked     INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (zone_id, token_hash),
    FOREIGN KEY (zone_id, user_id) REFERENCES users (zone_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (zone_id, family_id);

CREATE TABLE consents (
    zone_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (zone_id, user_id, client_id),
    FOREIGN KEY (zone_id, user_id) REFERENCES users (zone_id, id) ON DELETE CASCADE
);

CREATE TABLE upstream_states (
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    state_hash TEXT NOT NULL,
    data       BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (zone_id, state_hash)
);
CREATE INDEX upstream_states_expiry ON upstream_states (expires_at);
