-- qwenctl PostgreSQL store, migration 0002: full-text search over what was said (issue 16;
-- the SQLite store's migration 0007).
--
-- PostgreSQL's own text search instead of FTS5: expression GIN indexes over the same text
-- the SQLite store indexes, in a text search configuration of its own, `qwenctl_search`,
-- which the queries of src/store/pg/reads.rs repeat exactly so the indexes serve them:
--   messages_search    the messages clients sent (assistant messages are the answers they
--                      send back, indexed as responses)
--   responses_search   each response's answer and reasoning, as one document
-- Being indexes, they follow every insert, delete and cascade by themselves.
--
-- `qwenctl_search` is `simple` (words lowercased, never stemmed, no stop words, as FTS5's
-- unicode61) with diacritics removed by the `unaccent` extension, so `cafe` finds `café` as
-- on SQLite. Where the extension cannot be installed (it ships with PostgreSQL's contrib
-- modules and is trusted, so a database owner may create it; a role that may not), the
-- configuration is plain `simple` and accents must match.
--
-- Rules (see src/store/pg/migrations.rs): never edit a migration that has shipped, never
-- make a destructive change; add a new file instead.

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'qwenctl: no unaccent extension (%); search keeps diacritics', SQLERRM;
END
$$;

CREATE TEXT SEARCH CONFIGURATION qwenctl_search (COPY = pg_catalog.simple);

DO $$
DECLARE
    home text;
BEGIN
    SELECT n.nspname INTO home
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'unaccent';
    IF home IS NOT NULL THEN
        EXECUTE format(
            'ALTER TEXT SEARCH CONFIGURATION qwenctl_search
                 ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword,
                     hword_asciipart, hword_part, hword_numpart
                 WITH %I.unaccent, pg_catalog.simple',
            home);
    END IF;
END
$$;

CREATE INDEX messages_search ON messages
    USING gin (to_tsvector('qwenctl_search', content)) WHERE role <> 'assistant';
CREATE INDEX responses_search ON responses
    USING gin (to_tsvector('qwenctl_search', content || ' ' || reasoning));
