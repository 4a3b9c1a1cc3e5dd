-- qwenctl store, migration 0004: tenancy by API key, client request ids (issue 18).
--
-- Each exchange already names the API key that sent it (`requests.api_key_id`: `key-1`,
-- `admin-1`, …; never the key itself). A session now names its owner too, the key of its
-- first request, so the data API can show a key only its own sessions, requests and
-- responses without scanning them:
--   sessions.api_key_id          the owner's key name; NULL for sessions of a keyless
--                                `serve` or of `qwenctl chat`. Filled here from each
--                                session's first request.
-- A client's own request id (`x-request-id`) is kept beside the store's, which is always
-- generated: clients may send the same id twice, and it must not merge two exchanges.
--   requests.client_request_id   the `x-request-id` the client sent, NULL when none; not
--                                unique
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

ALTER TABLE sessions ADD COLUMN api_key_id TEXT;
UPDATE sessions SET api_key_id = (
    SELECT r.api_key_id FROM requests r
    WHERE r.session_id = sessions.id
    ORDER BY r.received_at, r.rowid
    LIMIT 1
);
CREATE INDEX sessions_key ON sessions (api_key_id, updated_at DESC);
CREATE INDEX requests_key ON requests (api_key_id, received_at DESC);

ALTER TABLE requests ADD COLUMN client_request_id TEXT;
