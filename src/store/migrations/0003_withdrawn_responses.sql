-- qwenctl store, migration 0003: responses withdrawn through the Responses API (design.md §11).
--
-- `DELETE /v1/responses/{id}` withdraws a stored response: the exchange stays in the archive
-- (sessions, stats, exports and the data API still show it, as they show `store: false`
-- exchanges), but the Responses API no longer retrieves it, lists its input items or
-- continues it through `previous_response_id`.
--   responses.withdrawn_at   unix ms of the DELETE; NULL while retrievable
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

ALTER TABLE responses ADD COLUMN withdrawn_at INTEGER;
