-- qwenctl store, migration 0002: tool calls (design.md §9).
--
-- Messages keep what a tool-calling history carries besides its text; every new column is
-- NULL for a plain message, so the rows written before this migration read as they were:
--   messages.tool_calls      JSON array of {"id", "name", "arguments"} (arguments: the JSON
--                            text the client or the model gave), NULL when none
--   messages.tool_call_id    the call a `tool` message answers
--   messages.name            the tool a `tool` message answers for
-- Two messages are the same row only when role, content and all three columns are equal
-- (`IS`, so NULL matches NULL); `content_hash` stays role || 0x00 || content and only
-- narrows the search, as before.
--
-- Responses keep the calls the client received and, for an exchange that needed more than
-- the usual one upstream turn (a corrective message), what each upstream turn was:
--   responses.tool_calls     JSON array as above, NULL when the answer made no call
--   responses.upstream_turns JSON array, one object per upstream turn; NULL for one turn
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

ALTER TABLE messages ADD COLUMN tool_calls TEXT;
ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
ALTER TABLE messages ADD COLUMN name TEXT;

ALTER TABLE responses ADD COLUMN tool_calls TEXT;
ALTER TABLE responses ADD COLUMN upstream_turns TEXT;
