-- Several instances on one database: job leases (a scheduled job runs on one instance at a time)
-- and the security throttles every instance counts into (sign-in failures per account and per
-- address, guessable-lookup misses per address).
CREATE TABLE job_leases (
    job         TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    until_ms    BIGINT NOT NULL
);

CREATE TABLE throttles (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    failures     BIGINT NOT NULL,
    since_ms     BIGINT,
    locked_until BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX throttles_updated ON throttles (updated_at);
