-- Indexes for lists at scale (issue 13) and for purging spent rows.
--
-- `sort=name` pages through (zone_id, name, id) like the default order pages through
-- (zone_id, created_at, id); `identifier` is already unique within a zone.
CREATE INDEX applications_name ON applications (zone_id, name, id);
CREATE INDEX providers_name ON providers (zone_id, name, id);
CREATE INDEX resources_name ON resources (zone_id, name, id);

-- `expand[]=total_count` counts a zone's rows: the narrowest index on zone_id alone (PostgreSQL
-- deduplicates its entries, so one zone's count reads a few pages of posting lists).
CREATE INDEX applications_zone ON applications (zone_id);
CREATE INDEX providers_zone ON providers (zone_id);
CREATE INDEX resources_zone ON resources (zone_id);
CREATE INDEX application_credentials_zone ON application_credentials (zone_id);
CREATE INDEX users_zone ON users (zone_id);

-- The purge: rotated refresh tokens past the reuse-detection window, and sessions that
-- expired or ended.
CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL;
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_ended ON sessions (status, updated_at);

-- postgres-only:begin
-- `query[]` is a case-insensitive substring match (`LOWER(column) LIKE '%term%'`), which no
-- B-tree serves. Where the pg_trgm extension can be had (it is trusted, so the database owner
-- may create it), trigram indexes on the searched columns let PostgreSQL answer from an index
-- for terms of three characters or more; where it cannot, nothing fails and the search scans
-- the zone's rows as before. SQLite always scans.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%); query[] scans', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX applications_search_name ON applications USING gin (LOWER(name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX applications_search_identifier ON applications USING gin (LOWER(identifier) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX applications_search_slug ON applications USING gin (LOWER(slug) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX resources_search_name ON resources USING gin (LOWER(name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX resources_search_identifier ON resources USING gin (LOWER(identifier) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX resources_search_slug ON resources USING gin (LOWER(slug) gin_trgm_ops)';
    END IF;
END
$$;
-- postgres-only:end
