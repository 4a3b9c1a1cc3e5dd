-- qwenctl store, migration 0006: upstream accounts (issue 15, design.md section 12).
--
-- With several Qwen accounts, a chat id belongs to the account that opened it, so the
-- conversation index must know which account owns each upstream chat, and the archive
-- says which account served each request. Only account names are kept (`alice`, or
-- `cookies` for pasted browser cookies): never an email, a password or a token.
--   sessions.account   the account that opened the session's upstream chat; NULL for the
--                      sessions recorded before this migration (they continue on whatever
--                      account is picked, and open a new chat where it does not know them)
--   requests.account   the account the request was served by (the last one tried when it
--                      failed); NULL when it never reached an account (a refused body)
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

ALTER TABLE sessions ADD COLUMN account TEXT;
ALTER TABLE requests ADD COLUMN account TEXT;
