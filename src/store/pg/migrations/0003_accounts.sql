-- qwenctl PostgreSQL store, migration 0003: upstream accounts (issue 15; the SQLite store's
-- migration 0006), and their cooldowns shared by the replicas (issue 19).
--
-- Only account names are kept (`alice`, or `cookies` for pasted browser cookies): never an
-- email, a password or a token; each replica logs in by itself.
--   sessions.account   the account that opened the session's upstream chat, which owns
--                      it: any replica continues the conversation on that account
--   requests.account   the account the request was served by
--   account_cooldowns  until when an account rests after a rate limit, as the replica that
--                      met it recorded it, so the other replicas send new conversations to
--                      another account meanwhile (one row per account, kept at the latest
--                      end; rows past their end mean nothing)
--
-- Rules (see src/store/pg/migrations.rs): never edit a migration that has shipped, never
-- make a destructive change; add a new file instead.

ALTER TABLE sessions ADD COLUMN account TEXT;
ALTER TABLE requests ADD COLUMN account TEXT;

CREATE TABLE account_cooldowns (
    account    TEXT PRIMARY KEY,
    until_ms   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
