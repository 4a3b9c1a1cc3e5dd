-- qwenctl store, migration 0008: full-text indexing leaves the write that a client waits for
-- (issue 16).
--
-- Migration 0007 indexed every message and answer from triggers, inside the transaction
-- whose commit the proxy awaits before a client's last byte: FTS5 tokenizes the text and
-- writes a segment per transaction, and at 200 requests/s that raised the added p99 from
-- about +2 ms to +7-10 ms. From now on the writer indexes in its own transactions, when it
-- is idle (src/store/fts.rs): every row up to a watermark per index is indexed, rows above it
-- are not yet. `fts_progress` holds the two watermarks (`messages`: messages.id,
-- `answers`: the rowid of responses).
--
-- The triggers that stay only ever remove or redo entries of rows at or below the
-- watermark, because an external-content FTS5 'delete' of a row that was never indexed
-- corrupts the index:
--   - a deleted message or answer leaves the index if it was in it; when it was the newest
--     row, the watermark comes down to the newest row left, since SQLite gives the next row
--     the id after the largest one in the table and that row must not count as indexed;
--   - a response replaced by `INSERT OR REPLACE` leaves the index before the insert if it
--     was in it (the new row's rowid is taken before the old row goes, so it is above the
--     watermark and indexed later);
--   - an indexed answer whose text changes is indexed again.
-- Every row is indexed at this point (0007's triggers), so the watermarks start at the
-- newest rows.
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

CREATE TABLE fts_progress (
    name TEXT PRIMARY KEY NOT NULL,
    upto INTEGER NOT NULL
);

INSERT INTO fts_progress (name, upto) VALUES
    ('messages', (SELECT coalesce(max(id), 0) FROM messages)),
    ('answers', (SELECT coalesce(max(rowid), 0) FROM responses));

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER answers_fts_replace;
DROP TRIGGER answers_fts_insert;
DROP TRIGGER answers_fts_delete;
DROP TRIGGER answers_fts_update;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT upto FROM fts_progress WHERE name = 'messages')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.role <> 'assistant';
    UPDATE fts_progress SET upto = (SELECT coalesce(max(id), 0) FROM messages)
        WHERE name = 'messages' AND upto > (SELECT coalesce(max(id), 0) FROM messages);
END;

CREATE TRIGGER answers_fts_replace BEFORE INSERT ON responses
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        SELECT 'delete', rowid, content, reasoning FROM responses
        WHERE (id = new.id OR request_id = new.request_id)
            AND rowid <= (SELECT upto FROM fts_progress WHERE name = 'answers');
END;

CREATE TRIGGER answers_fts_delete AFTER DELETE ON responses
WHEN old.rowid <= (SELECT upto FROM fts_progress WHERE name = 'answers')
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        VALUES ('delete', old.rowid, old.content, old.reasoning);
    UPDATE fts_progress SET upto = (SELECT coalesce(max(rowid), 0) FROM responses)
        WHERE name = 'answers' AND upto > (SELECT coalesce(max(rowid), 0) FROM responses);
END;

CREATE TRIGGER answers_fts_update AFTER UPDATE OF content, reasoning ON responses
WHEN old.rowid <= (SELECT upto FROM fts_progress WHERE name = 'answers')
BEGIN
    INSERT INTO answers_fts (answers_fts, rowid, content, reasoning)
        VALUES ('delete', old.rowid, old.content, old.reasoning);
    INSERT INTO answers_fts (rowid, content, reasoning)
        VALUES (new.rowid, new.content, new.reasoning);
END;
