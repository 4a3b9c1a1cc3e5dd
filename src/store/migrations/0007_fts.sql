-- qwenctl store, migration 0007: full-text search over what was said (issue 16).
--
-- Two FTS5 indexes, both "external content" (they keep only the index; the text stays where
-- it is, and snippets read it from there):
--   messages_fts   the text of the messages clients sent (user, system, developer, tool),
--                  one entry per row of `messages` (deduplicated, so a system prompt sent
--                  with every request is indexed once); assistant messages are the answers
--                  clients send back, indexed already as responses. Rowid = messages.id.
--   answers_fts    each response's answer (`content`) and reasoning. Rowid = the rowid of
--                  `responses`, which VACUUM keeps: SQLite renumbers rowids only in tables
--                  without any index, and `responses` has several.
-- Tokenizer: unicode61 with diacritics removed, so `café` finds `cafe`; words, not
-- substrings (a run of CJK characters is one word).
--
-- The triggers keep both in step with every write, whoever makes it (the writer, the
-- cascades of a session delete, `db prune`, an older qwenctl sharing the file):
--   - a message is indexed when inserted and dropped when deleted (messages never change);
--   - a response is indexed when inserted and dropped when deleted; one replaced by
--     `INSERT OR REPLACE` (a request's second outcome) is dropped before the insert, because
--     SQLite fires no delete trigger for a REPLACE unless recursive_triggers is on, which no
--     connection of qwenctl turns on; an update of its text re-indexes it (withdrawing a
--     response through the Responses API changes only `withdrawn_at`: it stays findable,
--     as it stays in the archive).
-- The rows already in the file are indexed here, in the migration's transaction.
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE VIRTUAL TABLE answers_fts USING fts5(
    content,
    reasoning,
    content = 'responses',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO messages_fts (rowid, content)
    SELECT id, content FROM messages WHERE role <> 'assistant';
INSERT INTO answers_fts (rowid, content, reasoning)
    SELECT rowid, content, reasoning FROM responses;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.role <> 'assistant'
BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.role <> 'assistant'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER answers_fts_replace BEFORE INSERT ON responses
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        SELECT 'delete', rowid, content, reasoning FROM responses
        WHERE id = new.id OR request_id = new.request_id;
END;

CREATE TRIGGER answers_fts_insert AFTER INSERT ON responses
BEGIN
    INSERT INTO answers_fts (rowid, content, reasoning)
        VALUES (new.rowid, new.content, new.reasoning);
END;

CREATE TRIGGER answers_fts_delete AFTER DELETE ON responses
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        VALUES ('delete', old.rowid, old.content, old.reasoning);
END;

CREATE TRIGGER answers_fts_update AFTER UPDATE OF content, reasoning ON responses
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        VALUES ('delete', old.rowid, old.content, old.reasoning);
    INSERT INTO answers_fts (rowid, content, reasoning)
        VALUES (new.rowid, new.content, new.reasoning);
END;
