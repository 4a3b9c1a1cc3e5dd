-- qwenctl PostgreSQL store, migration 0001: the schema of the SQLite store at its version 5.
--
-- The same tables, columns and meanings as src/store/migrations/0001-0005 (see
-- docs/STORE.md), so both backends answer every read alike and `qwenctl db copy` moves rows
-- across unchanged. Timestamps are unix milliseconds (BIGINT), JSON is stored as TEXT
-- exactly as the SQLite store keeps it. Where SQLite orders ties by its implicit `rowid`,
-- these tables have an explicit insertion sequence `seq`.
--
-- Rules (see src/store/pg/migrations.rs): never edit a migration that has shipped, never
-- make a destructive change; add a new file instead.

CREATE TABLE metadata (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL,
    model      TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    api_key_id TEXT,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX sessions_updated ON sessions (updated_at DESC, seq DESC);
CREATE INDEX sessions_model ON sessions (model, updated_at DESC);
CREATE INDEX sessions_key ON sessions (api_key_id, updated_at DESC);
CREATE INDEX sessions_created ON sessions (created_at, id);

-- `content_hash` is FNV-1a 64 over role || 0x00 || content; not unique (the content and
-- the tool columns decide whether a row is reused).
CREATE TABLE messages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_hash BIGINT NOT NULL,
    role         TEXT NOT NULL,
    content      TEXT NOT NULL,
    tool_calls   TEXT,
    tool_call_id TEXT,
    name         TEXT
);
CREATE INDEX messages_hash ON messages (content_hash, role);

CREATE TABLE requests (
    id                TEXT PRIMARY KEY,
    session_id        TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    endpoint          TEXT NOT NULL,
    model             TEXT NOT NULL,
    stream            BOOLEAN NOT NULL,
    api_key_id        TEXT,
    -- No foreign key: a missing prior only shortens a reconstructed history.
    prior_request_id  TEXT,
    message_count     BIGINT NOT NULL,
    params            TEXT NOT NULL,
    upstream_request  TEXT,
    chat_id           TEXT,
    parent_id         TEXT,
    received_at       BIGINT NOT NULL,
    client_request_id TEXT,
    seq               BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX requests_received ON requests (received_at DESC, seq DESC);
CREATE INDEX requests_session ON requests (session_id, received_at);
CREATE INDEX requests_model ON requests (model, received_at DESC);
CREATE INDEX requests_key ON requests (api_key_id, received_at DESC);
CREATE INDEX requests_stats ON requests (received_at, model, id);

CREATE TABLE request_messages (
    request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (request_id, position)
);
CREATE INDEX request_messages_message ON request_messages (message_id);

CREATE TABLE responses (
    id                     TEXT PRIMARY KEY,
    request_id             TEXT NOT NULL UNIQUE REFERENCES requests (id) ON DELETE CASCADE,
    session_id             TEXT,
    response_id            TEXT,
    status                 TEXT NOT NULL,
    error_kind             TEXT,
    error_message          TEXT,
    content                TEXT NOT NULL,
    reasoning              TEXT NOT NULL,
    finish_reason          TEXT,
    prompt_tokens          BIGINT NOT NULL DEFAULT 0,
    completion_tokens      BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens       BIGINT NOT NULL DEFAULT 0,
    total_tokens           BIGINT NOT NULL DEFAULT 0,
    upstream_first_byte_ms BIGINT,
    first_token_ms         BIGINT,
    duration_ms            BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    tool_calls             TEXT,
    upstream_turns         TEXT,
    withdrawn_at           BIGINT,
    seq                    BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX responses_created ON responses (created_at DESC, seq DESC);
CREATE INDEX responses_session ON responses (session_id, created_at);

CREATE TABLE conversation_nodes (
    fingerprint   BYTEA PRIMARY KEY CHECK (length(fingerprint) = 16),
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    chat_id       TEXT NOT NULL,
    response_id   TEXT NOT NULL,
    model         TEXT NOT NULL,
    request_id    TEXT,
    message_count BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL
);
CREATE INDEX conversation_nodes_session ON conversation_nodes (session_id);
