-- qwenctl store, migration 0005: indexes for reads that scale (issue 18, items 1 and 11).
--
--   sessions_created   sessions in creation order: `sessions export --all` pages through
--                      them by (created_at, id), a key no later write changes
--   requests_stats     requests by time with the model and the id: `stats` and
--                      `/v1/responses/stats` read requests from this index alone
--   responses_request  responses by request with every figure the statistics sum: the
--                      lookup of a request's response, and the statistics never read the
--                      response rows themselves (their text lies before the figures)
--
-- Every read names the index it uses (`INDEXED BY`), so its plan does not depend on the
-- planner statistics in the file (see docs/STORE.md, "Query plans").
--
-- Rules (see src/store/migrations.rs): never edit a migration that has shipped, never make a
-- destructive change; add a new file instead.

CREATE INDEX sessions_created ON sessions (created_at, id);
CREATE INDEX requests_stats ON requests (received_at, model, id);
CREATE INDEX responses_request ON responses (request_id, status, error_kind, prompt_tokens,
    completion_tokens, reasoning_tokens, total_tokens, duration_ms, first_token_ms);
