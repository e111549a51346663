-- The caches' backstop (issue 13): every write to a table a zone's caches read records the zone
-- in zone_changes, through triggers, so that every way a row changes counts: a write on another
-- instance whose notice was lost, a write made while this instance's feed was down, a write made
-- outside latchkey. Each instance reads the zones changed in the last minute once a second
-- (`crates/oauth/src/change_poll.rs`) and hides what it cached of each zone whose change it has
-- not seen.
-- `seq` only has to differ from the zone's previous one; `changed_at` is the database's clock
-- (milliseconds) when the row changed, so the poll needs no agreement between instances' clocks.
-- Users are left out: a sign-in updates its user, and the users cache keeps its short TTL.
-- On PostgreSQL a writer holds its zone's row until it commits, so these writes in one zone
-- wait for each other (creates already did, on the row counts and the slug check).
CREATE TABLE zone_changes (
    zone_id    TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX zone_changes_recent ON zone_changes (changed_at);

-- postgres-only:begin
CREATE SEQUENCE zone_change_seq;

CREATE FUNCTION latchkey_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    z TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'zones' THEN z := r.id; ELSE z := r.zone_id; END IF;
    INSERT INTO zone_changes (zone_id, seq, changed_at)
        VALUES (z, nextval('zone_change_seq'),
                (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)
        ON CONFLICT (zone_id) DO UPDATE
            SET seq = EXCLUDED.seq, changed_at = EXCLUDED.changed_at;
    RETURN NULL;
END
$$;

CREATE TRIGGER applications_changed AFTER INSERT OR UPDATE OR DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER application_credentials_changed AFTER INSERT OR UPDATE OR DELETE ON application_credentials
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER resources_changed AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER providers_changed AFTER INSERT OR UPDATE OR DELETE ON providers
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER application_dependencies_changed AFTER INSERT OR UPDATE OR DELETE ON application_dependencies
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER dependency_conditions_changed AFTER INSERT OR UPDATE OR DELETE ON dependency_conditions
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
CREATE TRIGGER zones_changed AFTER INSERT OR UPDATE OR DELETE ON zones
    FOR EACH ROW EXECUTE FUNCTION latchkey_zone_changed();
-- postgres-only:end

-- sqlite-only:begin
CREATE TRIGGER applications_changed_insert AFTER INSERT ON applications BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER applications_changed_update AFTER UPDATE ON applications BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER applications_changed_delete AFTER DELETE ON applications BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_credentials_changed_insert AFTER INSERT ON application_credentials BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_credentials_changed_update AFTER UPDATE ON application_credentials BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_credentials_changed_delete AFTER DELETE ON application_credentials BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER resources_changed_insert AFTER INSERT ON resources BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER resources_changed_update AFTER UPDATE ON resources BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER resources_changed_delete AFTER DELETE ON resources BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER providers_changed_insert AFTER INSERT ON providers BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER providers_changed_update AFTER UPDATE ON providers BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER providers_changed_delete AFTER DELETE ON providers BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_dependencies_changed_insert AFTER INSERT ON application_dependencies BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_dependencies_changed_update AFTER UPDATE ON application_dependencies BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER application_dependencies_changed_delete AFTER DELETE ON application_dependencies BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER dependency_conditions_changed_insert AFTER INSERT ON dependency_conditions BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER dependency_conditions_changed_update AFTER UPDATE ON dependency_conditions BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER dependency_conditions_changed_delete AFTER DELETE ON dependency_conditions BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER signing_keys_changed_insert AFTER INSERT ON signing_keys BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER signing_keys_changed_update AFTER UPDATE ON signing_keys BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER signing_keys_changed_delete AFTER DELETE ON signing_keys BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.zone_id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER zones_changed_insert AFTER INSERT ON zones BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER zones_changed_update AFTER UPDATE ON zones BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (NEW.id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
CREATE TRIGGER zones_changed_delete AFTER DELETE ON zones BEGIN
    INSERT INTO zone_changes (zone_id, seq, changed_at) VALUES (OLD.id, random(), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
        ON CONFLICT (zone_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at;
END;
-- sqlite-only:end
