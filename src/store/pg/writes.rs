//! The SQL of every write on PostgreSQL, run by the writer inside its group transaction (each
//! op in its own savepoint). The same statements as the SQLite store's `writes.rs`, in
//! PostgreSQL's dialect; statements are prepared once per connection (`prepare_cached`).

use deadpool_postgres::Transaction;

use crate::store::codec::encode_calls;
use crate::store::writes::content_hash;
use crate::store::{ConvNode, Fingerprint, NewRequest, NewResponse, NewSession, StoredMessage};

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

pub(crate) async fn insert_session(tx: &Transaction<'_>, s: &NewSession) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO sessions (id, chat_id, model, title, source, created_at, updated_at,
                 api_key_id)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &s.id,
            &s.chat_id,
            &s.model,
            &s.title,
            &s.source,
            &s.created_at,
            &s.api_key_id,
        ],
    )
    .await?;
    Ok(())
}

/// Moves `updated_at` forward only: ops from concurrent requests may arrive out of order.
async fn touch_session(tx: &Transaction<'_>, id: &str, at_ms: i64) -> Result<()> {
    let stmt = tx
        .prepare_cached("UPDATE sessions SET updated_at = greatest(updated_at, $2) WHERE id = $1")
        .await?;
    tx.execute(&stmt, &[&id, &at_ms]).await?;
    Ok(())
}

pub(crate) async fn insert_request(tx: &Transaction<'_>, r: &NewRequest) -> Result<()> {
    // The sub-select records an unknown (e.g. just deleted) session as none instead of
    // failing the foreign key and losing the request.
    let stmt = tx
        .prepare_cached(
            "INSERT INTO requests (id, session_id, endpoint, model, stream, api_key_id,
                 prior_request_id, message_count, params, upstream_request, chat_id, parent_id,
                 received_at, client_request_id)
             VALUES ($1, (SELECT id FROM sessions WHERE id = $2), $3, $4, $5, $6, $7, $8, $9,
                 $10, $11, $12, $13, $14)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &r.id,
            &r.session_id,
            &r.endpoint,
            &r.model,
            &r.stream,
            &r.api_key_id,
            &r.prior_request_id,
            &r.message_count,
            &r.params.to_string(),
            &r.upstream_request.as_ref().map(ToString::to_string),
            &r.chat_id,
            &r.parent_id,
            &r.received_at,
            &r.client_request_id,
        ],
    )
    .await?;
    link_messages(tx, &r.id, &r.new_messages).await?;
    if let Some(session) = &r.session_id {
        touch_session(tx, session, r.received_at).await?;
    }
    Ok(())
}

/// Stores `messages` (each distinct one once) as the new messages of request `id`.
pub(crate) async fn link_messages(
    tx: &Transaction<'_>,
    id: &str,
    messages: &[StoredMessage],
) -> Result<()> {
    let link = tx
        .prepare_cached(
            "INSERT INTO request_messages (request_id, position, message_id) VALUES ($1, $2, $3)",
        )
        .await?;
    for (position, message) in (0_i64..).zip(messages) {
        let message_id = intern_message(tx, message).await?;
        tx.execute(&link, &[&id, &position, &message_id]).await?;
    }
    Ok(())
}

/// The id of the row holding `message`, inserting it if it is new. A row is reused only when
/// every column matches (`IS NOT DISTINCT FROM`, so NULL equals NULL). Two replicas may
/// insert the same new message at once; the two rows are equal, and either serves.
async fn intern_message(tx: &Transaction<'_>, message: &StoredMessage) -> Result<i64> {
    let hash = content_hash(&message.role, &message.content);
    let tool_calls = encode_calls(&message.tool_calls);
    let find = tx
        .prepare_cached(
            "SELECT id FROM messages WHERE content_hash = $1 AND role = $2 AND content = $3
                 AND tool_calls IS NOT DISTINCT FROM $4 AND tool_call_id IS NOT DISTINCT FROM $5
                 AND name IS NOT DISTINCT FROM $6
             LIMIT 1",
        )
        .await?;
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &hash,
        &message.role,
        &message.content,
        &tool_calls,
        &message.tool_call_id,
        &message.name,
    ];
    if let Some(row) = tx.query_opt(&find, &args).await? {
        return row.try_get(0);
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO messages (content_hash, role, content, tool_calls, tool_call_id, name)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    tx.query_one(&insert, &args).await?.try_get(0)
}

/// Records a response; a second one for the same request replaces the first, so a request
/// always shows its latest outcome.
pub(crate) async fn insert_response(tx: &Transaction<'_>, r: &NewResponse) -> Result<()> {
    let replace = tx
        .prepare_cached("DELETE FROM responses WHERE request_id = $1 OR id = $2")
        .await?;
    tx.execute(&replace, &[&r.request_id, &r.id]).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO responses (id, request_id, session_id, response_id, status,
                 error_kind, error_message, content, reasoning, finish_reason, prompt_tokens,
                 completion_tokens, reasoning_tokens, total_tokens, upstream_first_byte_ms,
                 first_token_ms, duration_ms, created_at, tool_calls, upstream_turns)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &r.id,
            &r.request_id,
            &r.session_id,
            &r.response_id,
            &r.status,
            &r.error_kind,
            &r.error_message,
            &r.content,
            &r.reasoning,
            &r.finish_reason,
            &r.prompt_tokens,
            &r.completion_tokens,
            &r.reasoning_tokens,
            &r.prompt_tokens.saturating_add(r.completion_tokens),
            &r.upstream_first_byte_ms,
            &r.first_token_ms,
            &r.duration_ms,
            &r.created_at,
            &encode_calls(&r.tool_calls),
            &r.upstream_turns.as_ref().map(ToString::to_string),
        ],
    )
    .await?;
    if let Some(session) = &r.session_id {
        touch_session(tx, session, r.created_at).await?;
    }
    Ok(())
}

pub(crate) async fn upsert_node(tx: &Transaction<'_>, n: &ConvNode) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO conversation_nodes (fingerprint, session_id, chat_id, response_id,
                 model, request_id, message_count, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (fingerprint) DO UPDATE SET
                 session_id = excluded.session_id, chat_id = excluded.chat_id,
                 response_id = excluded.response_id, model = excluded.model,
                 request_id = excluded.request_id, message_count = excluded.message_count,
                 last_used_at = excluded.last_used_at",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &&n.fingerprint[..],
            &n.session_id,
            &n.chat_id,
            &n.response_id,
            &n.model,
            &n.request_id,
            &n.message_count,
            &n.last_used_at,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn touch_node(tx: &Transaction<'_>, fp: &Fingerprint, at_ms: i64) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "UPDATE conversation_nodes SET last_used_at = greatest(last_used_at, $2)
             WHERE fingerprint = $1",
        )
        .await?;
    tx.execute(&stmt, &[&&fp[..], &at_ms]).await?;
    Ok(())
}

/// Deletes a session; its requests, responses and nodes go with it (foreign keys cascade).
pub(crate) async fn delete_session(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    let n = tx
        .execute("DELETE FROM sessions WHERE id = $1", &[&id])
        .await?;
    Ok(n > 0)
}

/// Withdraws a stored response from the Responses API; whether it was there to withdraw.
pub(crate) async fn withdraw_response(tx: &Transaction<'_>, id: &str, at_ms: i64) -> Result<bool> {
    let n = tx
        .execute(
            "UPDATE responses SET withdrawn_at = $2 WHERE id = $1 AND withdrawn_at IS NULL",
            &[&id, &at_ms],
        )
        .await?;
    Ok(n > 0)
}

/// Removes what is older than `older_than_ms`, as the SQLite store's `prune` does.
pub(crate) async fn prune(tx: &Transaction<'_>, older_than_ms: i64) -> Result<u64> {
    let sessions = tx
        .execute(
            "DELETE FROM sessions WHERE updated_at < $1",
            &[&older_than_ms],
        )
        .await?;
    let requests = tx
        .execute(
            "DELETE FROM requests WHERE session_id IS NULL AND received_at < $1",
            &[&older_than_ms],
        )
        .await?;
    tx.execute(
        "DELETE FROM messages m
         WHERE NOT EXISTS (SELECT 1 FROM request_messages rm WHERE rm.message_id = m.id)",
        &[],
    )
    .await?;
    Ok(sessions.saturating_add(requests))
}
