-- Lists at scale, part 2 (issue 13): `expand[]=total_count` of a whole zone in O(1), and an
-- index for `query[]` substring search on SQLite.
--
-- zone_row_counts holds each zone's number of rows of the directory tables a console pages
-- through. Triggers keep it, so every way a row comes or goes (a create, a delete, a zone's
-- cascade, the purge) counts, and nothing in Rust has to remember to. A list whose only filter
-- is its zone reads the count from here; any other filter counts the matching rows as before.
-- On PostgreSQL the counter row of a (zone, table) is locked by a writer until it commits, so
-- creates in one zone wait for each other on it; application, provider and resource creates
-- already do (the slug check locks the zone's slugs).
CREATE TABLE zone_row_counts (
    zone_id TEXT NOT NULL,
    tbl TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (zone_id, tbl)
);

INSERT INTO zone_row_counts (zone_id, tbl, n)
    SELECT zone_id, 'applications', COUNT(*) FROM applications GROUP BY zone_id;
INSERT INTO zone_row_counts (zone_id, tbl, n)
    SELECT zone_id, 'providers', COUNT(*) FROM providers GROUP BY zone_id;
INSERT INTO zone_row_counts (zone_id, tbl, n)
    SELECT zone_id, 'resources', COUNT(*) FROM resources GROUP BY zone_id;
INSERT INTO zone_row_counts (zone_id, tbl, n)
    SELECT zone_id, 'application_credentials', COUNT(*) FROM application_credentials GROUP BY zone_id;
INSERT INTO zone_row_counts (zone_id, tbl, n)
    SELECT zone_id, 'users', COUNT(*) FROM users GROUP BY zone_id;

-- postgres-only:begin
CREATE FUNCTION latchkey_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, TG_TABLE_NAME, 1)
            ON CONFLICT (zone_id, tbl) DO UPDATE SET n = zone_row_counts.n + 1;
        RETURN NEW;
    END IF;
    UPDATE zone_row_counts SET n = n - 1 WHERE zone_id = OLD.zone_id AND tbl = TG_TABLE_NAME;
    RETURN OLD;
END
$$;

CREATE FUNCTION latchkey_forget_zone_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM zone_row_counts WHERE zone_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER applications_count AFTER INSERT OR DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION latchkey_count_rows();
CREATE TRIGGER providers_count AFTER INSERT OR DELETE ON providers
    FOR EACH ROW EXECUTE FUNCTION latchkey_count_rows();
CREATE TRIGGER resources_count AFTER INSERT OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION latchkey_count_rows();
CREATE TRIGGER application_credentials_count AFTER INSERT OR DELETE ON application_credentials
    FOR EACH ROW EXECUTE FUNCTION latchkey_count_rows();
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION latchkey_count_rows();
CREATE TRIGGER zones_forget_counts AFTER DELETE ON zones
    FOR EACH ROW EXECUTE FUNCTION latchkey_forget_zone_counts();
-- postgres-only:end

-- sqlite-only:begin
CREATE TRIGGER applications_count_in AFTER INSERT ON applications BEGIN
    INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, 'applications', 1)
        ON CONFLICT (zone_id, tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER applications_count_out AFTER DELETE ON applications BEGIN
    UPDATE zone_row_counts SET n = n - 1 WHERE zone_id = OLD.zone_id AND tbl = 'applications';
END;
CREATE TRIGGER providers_count_in AFTER INSERT ON providers BEGIN
    INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, 'providers', 1)
        ON CONFLICT (zone_id, tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER providers_count_out AFTER DELETE ON providers BEGIN
    UPDATE zone_row_counts SET n = n - 1 WHERE zone_id = OLD.zone_id AND tbl = 'providers';
END;
CREATE TRIGGER resources_count_in AFTER INSERT ON resources BEGIN
    INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, 'resources', 1)
        ON CONFLICT (zone_id, tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER resources_count_out AFTER DELETE ON resources BEGIN
    UPDATE zone_row_counts SET n = n - 1 WHERE zone_id = OLD.zone_id AND tbl = 'resources';
END;
CREATE TRIGGER application_credentials_count_in AFTER INSERT ON application_credentials BEGIN
    INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, 'application_credentials', 1)
        ON CONFLICT (zone_id, tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER application_credentials_count_out AFTER DELETE ON application_credentials BEGIN
    UPDATE zone_row_counts SET n = n - 1
        WHERE zone_id = OLD.zone_id AND tbl = 'application_credentials';
END;
CREATE TRIGGER users_count_in AFTER INSERT ON users BEGIN
    INSERT INTO zone_row_counts (zone_id, tbl, n) VALUES (NEW.zone_id, 'users', 1)
        ON CONFLICT (zone_id, tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_out AFTER DELETE ON users BEGIN
    UPDATE zone_row_counts SET n = n - 1 WHERE zone_id = OLD.zone_id AND tbl = 'users';
END;
CREATE TRIGGER zones_forget_counts AFTER DELETE ON zones BEGIN
    DELETE FROM zone_row_counts WHERE zone_id = OLD.id;
END;

-- `query[]` on SQLite: a trigram full-text index (FTS5, external content: it stores only the
-- index, the text stays in the table) over the searched columns. The list narrows to the
-- index's candidates for terms of three characters or more and keeps its exact
-- `LOWER(column) LIKE` condition, so results are what they were, found without a scan.
CREATE VIRTUAL TABLE applications_search USING fts5(
    name, identifier, slug, content = 'applications', content_rowid = 'rowid',
    tokenize = 'trigram'
);
INSERT INTO applications_search (rowid, name, identifier, slug)
    SELECT rowid, name, identifier, slug FROM applications;
CREATE TRIGGER applications_search_in AFTER INSERT ON applications BEGIN
    INSERT INTO applications_search (rowid, name, identifier, slug)
        VALUES (NEW.rowid, NEW.name, NEW.identifier, NEW.slug);
END;
CREATE TRIGGER applications_search_out AFTER DELETE ON applications BEGIN
    INSERT INTO applications_search (applications_search, rowid, name, identifier, slug)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.identifier, OLD.slug);
END;
CREATE TRIGGER applications_search_change AFTER UPDATE OF name, identifier, slug ON applications
BEGIN
    INSERT INTO applications_search (applications_search, rowid, name, identifier, slug)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.identifier, OLD.slug);
    INSERT INTO applications_search (rowid, name, identifier, slug)
        VALUES (NEW.rowid, NEW.name, NEW.identifier, NEW.slug);
END;

CREATE VIRTUAL TABLE resources_search USING fts5(
    name, identifier, slug, content = 'resources', content_rowid = 'rowid',
    tokenize = 'trigram'
);
INSERT INTO resources_search (rowid, name, identifier, slug)
    SELECT rowid, name, identifier, slug FROM resources;
CREATE TRIGGER resources_search_in AFTER INSERT ON resources BEGIN
    INSERT INTO resources_search (rowid, name, identifier, slug)
        VALUES (NEW.rowid, NEW.name, NEW.identifier, NEW.slug);
END;
CREATE TRIGGER resources_search_out AFTER DELETE ON resources BEGIN
    INSERT INTO resources_search (resources_search, rowid, name, identifier, slug)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.identifier, OLD.slug);
END;
CREATE TRIGGER resources_search_change AFTER UPDATE OF name, identifier, slug ON resources
BEGIN
    INSERT INTO resources_search (resources_search, rowid, name, identifier, slug)
        VALUES ('delete', OLD.rowid, OLD.name, OLD.identifier, OLD.slug);
    INSERT INTO resources_search (rowid, name, identifier, slug)
        VALUES (NEW.rowid, NEW.name, NEW.identifier, NEW.slug);
END;
-- sqlite-only:end
