-- qwenctl store, migration 0009: a request's large parameters stored once (issue 17).
--
-- An agent sends the same ~25 KB of tool schemas with every turn, and each request row kept
-- them again in `requests.params` (about 34 KB of database per turn). Now every top-level
-- member of a request's parameters whose JSON text is long (1 KiB or more today: `tools`,
-- `functions`, the Responses API's `instructions`, a large `response_format`) is stored
-- once per distinct value, and the request row keeps the rest:
--   shared_params          each distinct value's JSON text once; `content_hash` is FNV-1a 64
--                          of the text, indexed (not unique: the text decides, as in
--                          `messages`)
--   request_shared_params  (request_id, name) -> the shared value that is the request's
--                          member `name`; removed with its request
-- A request's parameters are `requests.params` with each linked member put back under its
-- name. Rows written before this migration keep their parameters whole in `params` and
-- have no links, so they read as they did; nothing is moved. Shared values no request links
-- any more are removed by `prune`, like orphaned messages.
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

CREATE TABLE shared_params (
    id           INTEGER PRIMARY KEY,
    content_hash INTEGER NOT NULL,
    content      TEXT NOT NULL
);
CREATE INDEX shared_params_hash ON shared_params (content_hash);

CREATE TABLE request_shared_params (
    request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    shared_id  INTEGER NOT NULL REFERENCES shared_params (id),
    PRIMARY KEY (request_id, name)
) WITHOUT ROWID;
CREATE INDEX request_shared_params_shared ON request_shared_params (shared_id);
