-- qwenctl store, migration 0001: the initial schema.
--
-- Tables (timestamps are unix milliseconds, JSON is stored as TEXT):
--   metadata(key, value)            facts about the file; `schema_version` = PRAGMA user_version
--   sessions                        one upstream chat (design.md §4)
--   messages                        every distinct (role, content) exactly once
--   requests                        one client request; links only its NEW messages
--   request_messages                (request_id, position) -> message_id for those new messages
--   responses                       the outcome of a request, at most one per request
--   conversation_nodes              fingerprint of a history -> where it continues upstream
--
-- A request that continues a remembered history points at that history's request through
-- `prior_request_id`, so its full message list is
--   full(prior) + [prior's assistant answer] + its own new messages.
-- A client that resends its whole history every turn therefore costs one row per new
-- message, not one per message per turn.
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

CREATE TABLE metadata (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    chat_id    TEXT NOT NULL,
    model      TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX sessions_updated ON sessions (updated_at DESC);
CREATE INDEX sessions_model ON sessions (model, updated_at DESC);

-- `content_hash` is FNV-1a 64 over role || 0x00 || content. The index is deliberately not
-- UNIQUE: two different messages may share 64 bits, so the writer (the only inserter)
-- compares the content before reusing a row.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    content_hash INTEGER NOT NULL,
    role         TEXT NOT NULL,
    content      TEXT NOT NULL
);
CREATE INDEX messages_hash ON messages (content_hash, role);

CREATE TABLE requests (
    id               TEXT PRIMARY KEY NOT NULL,
    session_id       TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    endpoint         TEXT NOT NULL,
    model            TEXT NOT NULL,
    stream           INTEGER NOT NULL,
    api_key_id       TEXT,
    -- No foreign key: a missing prior only shortens a reconstructed history.
    prior_request_id TEXT,
    message_count    INTEGER NOT NULL,
    params           TEXT NOT NULL,
    upstream_request TEXT,
    chat_id          TEXT,
    parent_id        TEXT,
    received_at      INTEGER NOT NULL
);
CREATE INDEX requests_received ON requests (received_at DESC);
CREATE INDEX requests_session ON requests (session_id, received_at);
CREATE INDEX requests_model ON requests (model, received_at DESC);

CREATE TABLE request_messages (
    request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    PRIMARY KEY (request_id, position)
) WITHOUT ROWID;
CREATE INDEX request_messages_message ON request_messages (message_id);

CREATE TABLE responses (
    id                     TEXT PRIMARY KEY NOT NULL,
    request_id             TEXT NOT NULL UNIQUE REFERENCES requests (id) ON DELETE CASCADE,
    session_id             TEXT,
    response_id            TEXT,
    status                 TEXT NOT NULL,
    error_kind             TEXT,
    error_message          TEXT,
    content                TEXT NOT NULL,
    reasoning              TEXT NOT NULL,
    finish_reason          TEXT,
    prompt_tokens          INTEGER NOT NULL DEFAULT 0,
    completion_tokens      INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens       INTEGER NOT NULL DEFAULT 0,
    total_tokens           INTEGER NOT NULL DEFAULT 0,
    upstream_first_byte_ms INTEGER,
    first_token_ms         INTEGER,
    duration_ms            INTEGER NOT NULL,
    created_at             INTEGER NOT NULL
);
CREATE INDEX responses_created ON responses (created_at DESC);
CREATE INDEX responses_session ON responses (session_id, created_at);

CREATE TABLE conversation_nodes (
    fingerprint   BLOB PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 16),
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_id       TEXT NOT NULL,
    response_id   TEXT NOT NULL,
    model         TEXT NOT NULL,
    request_id    TEXT,
    message_count INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX conversation_nodes_session ON conversation_nodes (session_id);
