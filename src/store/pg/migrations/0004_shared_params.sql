-- qwenctl PostgreSQL store, migration 0004: a request's large parameters stored once
-- (issue 17; the SQLite store's migration 0009).
--
-- Every top-level member of a request's parameters whose JSON text is long (1 KiB or more
-- today: an agent's ~25 KB of tool schemas, sent again every turn; the Responses API's
-- `instructions`) is stored once per distinct value, and `requests.params` keeps the rest:
--   shared_params          each distinct value's JSON text once; `content_hash` is FNV-1a 64
--                          of the text, indexed (not unique: the text decides, as in
--                          `messages`; two replicas inserting the same new value at once
--                          make two equal rows, and either serves)
--   request_shared_params  (request_id, name) -> the shared value that is the request's
--                          member `name`; removed with its request
-- Rows written before this migration keep their parameters whole and have no links, so
-- they read as they did; nothing is moved.
--
-- Rules (see src/store/pg/migrations.rs): never edit a migration that has shipped, never
-- make a destructive change; add a new file instead.

CREATE TABLE shared_params (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_hash BIGINT NOT NULL,
    content      TEXT NOT NULL
);
CREATE INDEX shared_params_hash ON shared_params (content_hash);

CREATE TABLE request_shared_params (
    request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    shared_id  BIGINT NOT NULL REFERENCES shared_params (id),
    PRIMARY KEY (request_id, name)
);
CREATE INDEX request_shared_params_shared ON request_shared_params (shared_id);
