//! The SQL of every write on PostgreSQL: the same writes as the SQLite store's `writes.rs`,
//! in PostgreSQL's dialect.
//!
//! The ops an exchange makes (a session, a request with its messages, a response, a
//! conversation node) are each a fixed list of statements whose arguments are known before
//! any runs ([`Statements`]): interning a message and linking it to its request is one
//! statement, not a lookup followed by an insert. So the writer can send a whole group's
//! statements at once and read the answers after (pipelining), one round trip per group
//! instead of one per statement; and run them one by one in savepoints when a row fails. The
//! maintenance ops (delete, withdraw, prune) answer with what they found and run alone.
//! Statements are prepared once per connection (`prepare_cached`).

use bytes::BytesMut;
use deadpool_postgres::Transaction;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::store::codec::encode_calls;
use crate::store::writes::message_hash;
use crate::store::{ConvNode, NewRequest, NewResponse, NewSession, Params, StoredMessage};

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

/// One statement and its arguments.
pub(crate) struct Statement {
    pub sql: &'static str,
    pub args: Vec<Box<dyn ToSql + Sync + Send>>,
}

/// The statements of one op, in the order they run.
pub(crate) type Statements = Vec<Statement>;

/// Builds a [`Statement`] from owned arguments.
macro_rules! statement {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        Statement {
            sql: $sql,
            args: vec![$(Box::new($arg) as Box<dyn ToSql + Sync + Send>),*],
        }
    };
}

const INSERT_SESSION: &str = "INSERT INTO sessions (id, chat_id, model, title, source,
        created_at, updated_at, api_key_id, account)
    VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)";

/// Moves `updated_at` forward only: ops from concurrent requests may arrive out of order.
const TOUCH_SESSION: &str =
    "UPDATE sessions SET updated_at = greatest(updated_at, $2) WHERE id = $1";

// The sub-select records an unknown (e.g. just deleted) session as none instead of failing
// the foreign key and losing the request.
const INSERT_REQUEST: &str = "INSERT INTO requests (id, session_id, endpoint, model, stream,
        api_key_id, prior_request_id, message_count, params, upstream_request, chat_id,
        parent_id, received_at, client_request_id, account)
    VALUES ($1, (SELECT id FROM sessions WHERE id = $2), $3, $4, $5, $6, $7, $8, $9, $10, $11,
        $12, $13, $14, $15)";

/// Message `$3…$8` as the new message at `$2` of request `$1`: the row holding an equal
/// message (every column equal, NULL equal to NULL) when there is one, else a new row. Two
/// replicas may insert the same new message at once; the two rows are equal, and either
/// serves.
const LINK_MESSAGE: &str = "WITH found AS (
        SELECT id FROM messages
        WHERE content_hash = $3 AND role = $4 AND content = $5
          AND tool_calls IS NOT DISTINCT FROM $6 AND tool_call_id IS NOT DISTINCT FROM $7
          AND name IS NOT DISTINCT FROM $8
        LIMIT 1),
    made AS (
        INSERT INTO messages (content_hash, role, content, tool_calls, tool_call_id, name)
        SELECT $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM found)
        RETURNING id)
    INSERT INTO request_messages (request_id, position, message_id)
    SELECT $1, $2, id FROM (SELECT id FROM found UNION ALL SELECT id FROM made) AS m LIMIT 1";

/// Shared parameter `$3`, `$4` (hash, text) as member `$2` of request `$1`: the row holding
/// that text when there is one, else a new row, as [`LINK_MESSAGE`] does for messages.
const LINK_SHARED_PARAM: &str = "WITH found AS (
        SELECT id FROM shared_params WHERE content_hash = $3 AND content = $4 LIMIT 1),
    made AS (
        INSERT INTO shared_params (content_hash, content)
        SELECT $3, $4 WHERE NOT EXISTS (SELECT 1 FROM found)
        RETURNING id)
    INSERT INTO request_shared_params (request_id, name, shared_id)
    SELECT $1, $2, id FROM (SELECT id FROM found UNION ALL SELECT id FROM made) AS s LIMIT 1";

/// A request's second response replaces the first, so a request shows its latest outcome.
const REPLACE_RESPONSE: &str = "DELETE FROM responses WHERE request_id = $1 OR id = $2";

const INSERT_RESPONSE: &str = "INSERT INTO responses (id, request_id, session_id, response_id,
        status, error_kind, error_message, content, reasoning, finish_reason, prompt_tokens,
        completion_tokens, reasoning_tokens, total_tokens, upstream_first_byte_ms,
        first_token_ms, duration_ms, created_at, tool_calls, upstream_turns)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19, $20)";

const UPSERT_NODE: &str = "INSERT INTO conversation_nodes (fingerprint, session_id, chat_id,
        response_id, model, request_id, message_count, last_used_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (fingerprint) DO UPDATE SET
        session_id = excluded.session_id, chat_id = excluded.chat_id,
        response_id = excluded.response_id, model = excluded.model,
        request_id = excluded.request_id, message_count = excluded.message_count,
        last_used_at = excluded.last_used_at";

const TOUCH_NODE: &str = "UPDATE conversation_nodes SET last_used_at = greatest(last_used_at, $2)
    WHERE fingerprint = $1";

pub(crate) fn insert_session(s: &NewSession) -> Statements {
    vec![statement!(
        INSERT_SESSION,
        s.id.clone(),
        s.chat_id.clone(),
        s.model.clone(),
        s.title.clone(),
        s.source.clone(),
        s.created_at,
        s.api_key_id.clone(),
        s.account.clone(),
    )]
}

pub(crate) fn insert_request(r: &NewRequest) -> Statements {
    let mut out = vec![statement!(
        INSERT_REQUEST,
        r.id.clone(),
        r.session_id.clone(),
        r.endpoint.clone(),
        r.model.clone(),
        r.stream,
        r.api_key_id.clone(),
        r.prior_request_id.clone(),
        r.message_count,
        r.params.inline().to_owned(),
        r.upstream_request.as_ref().map(ToString::to_string),
        r.chat_id.clone(),
        r.parent_id.clone(),
        r.received_at,
        r.client_request_id.clone(),
        r.account.clone(),
    )];
    out.extend(link_messages(&r.id, &r.new_messages));
    out.extend(r.params.shared().iter().enumerate().map(|(at, shared)| {
        link_shared_param(
            &r.id,
            &shared.name,
            shared.hash,
            SharedText(r.params.clone(), at),
        )
    }));
    if let Some(session) = &r.session_id {
        out.push(statement!(TOUCH_SESSION, session.clone(), r.received_at));
    }
    out
}

/// The shared parameter `content` (its hash `hash`) as member `name` of request `id`.
pub(crate) fn link_shared_param(
    id: &str,
    name: &str,
    hash: i64,
    content: impl ToSql + Sync + Send + 'static,
) -> Statement {
    statement!(
        LINK_SHARED_PARAM,
        id.to_owned(),
        name.to_owned(),
        hash,
        content
    )
}

/// The text of shared parameter `.1` of a request's parameters, as a statement argument
/// that refers to the request's text instead of copying tens of kilobytes of it.
#[derive(Debug)]
struct SharedText(Params, usize);

impl ToSql for SharedText {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let text = self
            .0
            .shared()
            .get(self.1)
            .map_or("", |s| s.content.as_str());
        text.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// `messages` (each distinct one stored once) as the new messages of request `id`.
pub(crate) fn link_messages(id: &str, messages: &[StoredMessage]) -> Statements {
    (0_i64..)
        .zip(messages)
        .map(|(position, m)| {
            let calls = encode_calls(&m.tool_calls);
            statement!(
                LINK_MESSAGE,
                id.to_owned(),
                position,
                message_hash(m, calls.as_deref()),
                m.role.clone(),
                m.content.clone(),
                calls,
                m.tool_call_id.clone(),
                m.name.clone(),
            )
        })
        .collect()
}

pub(crate) fn insert_response(r: &NewResponse) -> Statements {
    let mut out = vec![
        statement!(REPLACE_RESPONSE, r.request_id.clone(), r.id.clone()),
        statement!(
            INSERT_RESPONSE,
            r.id.clone(),
            r.request_id.clone(),
            r.session_id.clone(),
            r.response_id.clone(),
            r.status.clone(),
            r.error_kind.clone(),
            r.error_message.clone(),
            r.content.clone(),
            r.reasoning.clone(),
            r.finish_reason.clone(),
            r.prompt_tokens,
            r.completion_tokens,
            r.reasoning_tokens,
            r.prompt_tokens.saturating_add(r.completion_tokens),
            r.upstream_first_byte_ms,
            r.first_token_ms,
            r.duration_ms,
            r.created_at,
            encode_calls(&r.tool_calls),
            r.upstream_turns.as_ref().map(ToString::to_string),
        ),
    ];
    if let Some(session) = &r.session_id {
        out.push(statement!(TOUCH_SESSION, session.clone(), r.created_at));
    }
    out
}

pub(crate) fn upsert_node(n: &ConvNode) -> Statements {
    vec![statement!(
        UPSERT_NODE,
        n.fingerprint.to_vec(),
        n.session_id.clone(),
        n.chat_id.clone(),
        n.response_id.clone(),
        n.model.clone(),
        n.request_id.clone(),
        n.message_count,
        n.last_used_at,
    )]
}

pub(crate) fn touch_node(fingerprint: &[u8; 16], at_ms: i64) -> Statements {
    vec![statement!(TOUCH_NODE, fingerprint.to_vec(), at_ms)]
}

/// Runs `statements` one after the other.
pub(crate) async fn run(tx: &Transaction<'_>, statements: &[Statement]) -> Result<()> {
    for s in statements {
        let prepared = tx.prepare_cached(s.sql).await?;
        tx.execute_raw(&prepared, args(s)).await?;
    }
    Ok(())
}

/// Sends all of `statements` before reading any answer (they run in order all the same):
/// one round trip for the lot. The first failure is returned; PostgreSQL then refuses the
/// rest of the transaction, which the caller rolls back.
pub(crate) async fn pipeline(tx: &Transaction<'_>, statements: &[Statement]) -> Result<()> {
    let mut prepared = Vec::with_capacity(statements.len());
    for s in statements {
        prepared.push(tx.prepare_cached(s.sql).await?);
    }
    let pending = statements
        .iter()
        .zip(&prepared)
        .map(|(s, p)| tx.execute_raw(p, args(s)));
    futures_util::future::try_join_all(pending).await?;
    Ok(())
}

fn args(s: &Statement) -> impl ExactSizeIterator<Item = &(dyn ToSql + Sync)> {
    s.args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync))
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
    tx.execute(
        "DELETE FROM shared_params s
         WHERE NOT EXISTS (SELECT 1 FROM request_shared_params l WHERE l.shared_id = s.id)",
        &[],
    )
    .await?;
    Ok(sessions.saturating_add(requests))
}
