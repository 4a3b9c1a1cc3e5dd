//! Read queries for the lists and single rows, run on a read connection.
//!
//! Each function is synchronous and takes the connection, so the `api` wrappers can run it on
//! a blocking thread. Lists page in SQL first and add their per-row totals after, so a page
//! of 20 sessions never aggregates the whole table.
//!
//! Every read names the index each of its tables is read through (`INDEXED BY`, and the join
//! order by `LEFT JOIN`/`CROSS JOIN`), so its plan does not depend on the planner statistics
//! in the file: statistics taken while the store held two rows once made SQLite scan all
//! responses for every request, and a read-only file (a backup) cannot have them refreshed.
//! `tests/plans.rs` checks every read's plan under stale, missing and fresh statistics.

use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::codec::{decode_calls, parse_json};
use super::filter::Columns;
use super::{
    ConvNode, Exchange, Fingerprint, ListQuery, RequestSummary, ResponseRow, Result, SessionKey,
    SessionSummary,
};

/// How many fingerprints go into one `IN (…)`; well under SQLite's variable limit.
const LOOKUP_CHUNK: usize = 500;

/// The indexes reads pin their plans to. The `sqlite_autoindex_…` names are those SQLite
/// gives the `PRIMARY KEY` and `UNIQUE` constraints of migration 0001, in column order;
/// migrations never rebuild a table, so they stay.
pub(crate) mod index {
    pub(crate) const SESSIONS_PK: &str = "sqlite_autoindex_sessions_1";
    /// `sessions (updated_at DESC)`.
    pub(crate) const SESSIONS_UPDATED: &str = "sessions_updated";
    /// `sessions (model, updated_at DESC)`.
    pub(crate) const SESSIONS_MODEL: &str = "sessions_model";
    /// `sessions (created_at, id)`.
    pub(crate) const SESSIONS_CREATED: &str = "sessions_created";
    pub(crate) const REQUESTS_PK: &str = "sqlite_autoindex_requests_1";
    /// `requests (received_at DESC)`.
    pub(crate) const REQUESTS_RECEIVED: &str = "requests_received";
    /// `requests (session_id, received_at)`.
    pub(crate) const REQUESTS_SESSION: &str = "requests_session";
    /// `requests (model, received_at DESC)`.
    pub(crate) const REQUESTS_MODEL: &str = "requests_model";
    /// `requests (received_at, model, id)`: the statistics read nothing else of a request.
    pub(crate) const REQUESTS_STATS: &str = "requests_stats";
    /// The primary key of `request_messages` (`request_id, position`).
    pub(crate) const REQUEST_MESSAGES_PK: &str = "sqlite_autoindex_request_messages_1";
    /// `request_messages (message_id)`: the requests a message was sent with.
    pub(crate) const REQUEST_MESSAGES_MESSAGE: &str = "request_messages_message";
    pub(crate) const RESPONSES_PK: &str = "sqlite_autoindex_responses_1";
    /// `responses (request_id, status, error_kind, …tokens, duration_ms, first_token_ms)`.
    pub(crate) const RESPONSES_REQUEST: &str = "responses_request";
    /// `responses (created_at DESC)`.
    pub(crate) const RESPONSES_CREATED: &str = "responses_created";
    /// The primary key of `request_shared_params` (`request_id, name`; migration 0009).
    pub(crate) const REQUEST_SHARED_PARAMS_PK: &str = "sqlite_autoindex_request_shared_params_1";
    /// The primary key of `conversation_nodes` (`fingerprint`).
    pub(crate) const CONVERSATION_NODES_PK: &str = "sqlite_autoindex_conversation_nodes_1";
}

/// The index a list of requests filtered by `q` is read through.
fn requests_index(q: &ListQuery) -> &'static str {
    if q.session_id.is_some() {
        index::REQUESTS_SESSION
    } else if q.model.is_some() {
        index::REQUESTS_MODEL
    } else {
        index::REQUESTS_RECEIVED
    }
}

/// The remembered node with the most messages among `fingerprints` (ties: the most recently
/// used), in a session owned by the key named `owner` (`None`: a keyless session).
pub(crate) fn lookup_prefix(
    conn: &Connection,
    fingerprints: &[Fingerprint],
    owner: Option<&str>,
) -> Result<Option<ConvNode>> {
    let mut best: Option<ConvNode> = None;
    for chunk in fingerprints.chunks(LOOKUP_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT n.fingerprint, n.session_id, n.chat_id, n.response_id, n.model,
                    n.request_id, n.message_count, n.last_used_at, s.account
             FROM conversation_nodes n INDEXED BY {}
                  CROSS JOIN sessions s INDEXED BY {} ON s.id = n.session_id
             WHERE n.fingerprint IN ({marks}) AND s.api_key_id IS ?
             ORDER BY n.message_count DESC, n.last_used_at DESC LIMIT 1",
            index::CONVERSATION_NODES_PK,
            index::SESSIONS_PK
        );
        let args = chunk
            .iter()
            .map(|fp| rusqlite::types::Value::Blob(fp.to_vec()))
            .chain([owner.map_or(rusqlite::types::Value::Null, |o| {
                rusqlite::types::Value::Text(o.to_owned())
            })]);
        // Cached: an engine's lookups come in a few sizes (its newest prefixes first).
        let found = conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args), node)
            .optional()?;
        if let Some(candidate) = found {
            let better = best.as_ref().is_none_or(|b| {
                (candidate.message_count, candidate.last_used_at)
                    > (b.message_count, b.last_used_at)
            });
            if better {
                best = Some(candidate);
            }
        }
    }
    Ok(best)
}

fn node(row: &Row<'_>) -> rusqlite::Result<ConvNode> {
    let raw: Vec<u8> = row.get("fingerprint")?;
    // The CHECK constraint keeps every stored fingerprint at 16 bytes.
    let mut fingerprint = [0_u8; 16];
    let n = raw.len().min(16);
    fingerprint[..n].copy_from_slice(&raw[..n]);
    Ok(ConvNode {
        fingerprint,
        session_id: row.get("session_id")?,
        chat_id: row.get("chat_id")?,
        response_id: row.get("response_id")?,
        model: row.get("model")?,
        request_id: row.get("request_id")?,
        message_count: row.get("message_count")?,
        last_used_at: row.get("last_used_at")?,
        account: row.get("account")?,
    })
}

const SESSION_COLUMNS: Columns = Columns {
    key: "api_key_id",
    session: "id",
    model: "model",
    time: "updated_at",
};

/// A query for the sessions that `page` (a `SELECT` over `sessions` with a `seq` rowid
/// column) picks, with their totals computed for those sessions only.
pub(crate) fn with_totals(page: &str) -> String {
    let by_session = index::REQUESTS_SESSION;
    let by_request = index::RESPONSES_REQUEST;
    format!(
        "WITH page AS ({page}),
         totals AS (
             SELECT r.session_id, count(*) AS turns,
                    coalesce(sum(p.prompt_tokens), 0) AS prompt_tokens,
                    coalesce(sum(p.completion_tokens), 0) AS completion_tokens,
                    coalesce(sum(p.total_tokens), 0) AS total_tokens,
                    coalesce(sum(CASE WHEN json_valid(p.tool_calls)
                        THEN json_array_length(p.tool_calls) END), 0) AS tool_calls
             FROM requests r INDEXED BY {by_session}
                  LEFT JOIN responses p INDEXED BY {by_request} ON p.request_id = r.id
             WHERE r.session_id IN (SELECT id FROM page)
             GROUP BY r.session_id)
         SELECT page.*, coalesce(t.turns, 0) AS turns,
                coalesce(t.prompt_tokens, 0) AS prompt_tokens,
                coalesce(t.completion_tokens, 0) AS completion_tokens,
                coalesce(t.total_tokens, 0) AS total_tokens,
                coalesce(t.tool_calls, 0) AS tool_calls
         FROM page LEFT JOIN totals t ON t.session_id = page.id
         ORDER BY page.updated_at DESC, page.seq DESC"
    )
}

pub(crate) fn list_sessions(conn: &Connection, q: &ListQuery) -> Result<Vec<SessionSummary>> {
    let filter = q.filter(&SESSION_COLUMNS);
    let sql = with_totals(&format!(
        "SELECT sessions.*, rowid AS seq FROM sessions INDEXED BY {} {}
         ORDER BY updated_at DESC, rowid DESC LIMIT ? OFFSET ?",
        sessions_index(q),
        filter.clause
    ));
    let page = q.page_args();
    let args = filter.args.iter().chain(page.iter());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), session_summary)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The index a list of sessions filtered by `q` is read through.
fn sessions_index(q: &ListQuery) -> &'static str {
    if q.session_id.is_some() {
        index::SESSIONS_PK
    } else if q.model.is_some() {
        index::SESSIONS_MODEL
    } else {
        index::SESSIONS_UPDATED
    }
}

pub(crate) fn get_session(conn: &Connection, id: &str) -> Result<Option<SessionSummary>> {
    let sql = with_totals(&format!(
        "SELECT sessions.*, rowid AS seq FROM sessions INDEXED BY {} WHERE id = ?1",
        index::SESSIONS_PK
    ));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], session_summary)
        .optional()?)
}

/// Ids of the sessions matching `q`, newest first (for exporting one session at a time).
pub(crate) fn session_ids(conn: &Connection, q: &ListQuery) -> Result<Vec<String>> {
    let filter = q.filter(&SESSION_COLUMNS);
    let sql = format!(
        "SELECT id FROM sessions INDEXED BY {} {}
         ORDER BY updated_at DESC, rowid DESC LIMIT ? OFFSET ?",
        sessions_index(q),
        filter.clause
    );
    let page = q.page_args();
    let args = filter.args.iter().chain(page.iter());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The number of sessions (the length of `sessions export --all`).
pub(crate) fn count_sessions(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM sessions INDEXED BY {}",
            index::SESSIONS_CREATED
        ),
        [],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Up to `limit` sessions, newest first by creation, after `after` (the last of the previous
/// page). Creation time and id never change, so paging through every session while `serve`
/// records new ones neither skips nor repeats one: those created meanwhile are newer than
/// the first page and are left out.
pub(crate) fn sessions_by_creation(
    conn: &Connection,
    after: Option<&SessionKey>,
    limit: u32,
) -> Result<Vec<SessionKey>> {
    let sql = |from: &str| {
        format!(
            "SELECT created_at, id FROM sessions INDEXED BY {} {from}
             ORDER BY created_at DESC, id DESC LIMIT ?",
            index::SESSIONS_CREATED
        )
    };
    let key = |row: &Row<'_>| {
        Ok(SessionKey {
            created_at: row.get(0)?,
            id: row.get(1)?,
        })
    };
    let rows = match after {
        Some(after) => conn
            .prepare_cached(&sql("WHERE (created_at, id) < (?, ?)"))?
            .query_map(params![after.created_at, after.id, limit], key)?
            .collect::<rusqlite::Result<_>>(),
        None => conn
            .prepare_cached(&sql(""))?
            .query_map(params![limit], key)?
            .collect::<rusqlite::Result<_>>(),
    };
    Ok(rows?)
}

pub(crate) fn session_summary(row: &Row<'_>) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        object: "session",
        id: row.get("id")?,
        chat_id: row.get("chat_id")?,
        model: row.get("model")?,
        title: row.get("title")?,
        source: row.get("source")?,
        api_key_id: row.get("api_key_id")?,
        account: row.get("account")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        turns: row.get("turns")?,
        prompt_tokens: row.get("prompt_tokens")?,
        completion_tokens: row.get("completion_tokens")?,
        total_tokens: row.get("total_tokens")?,
        tool_calls: row.get("tool_calls")?,
    })
}

/// The columns of a [`RequestSummary`] from `requests r` read through `index` and its
/// response.
fn request_select(index: &str) -> String {
    format!(
        "SELECT r.id, r.session_id, r.endpoint, r.model, r.stream, r.api_key_id,
                r.client_request_id, r.prior_request_id, r.message_count, r.chat_id,
                r.parent_id, r.account, r.received_at, p.status
         FROM requests r INDEXED BY {index}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id",
        index::RESPONSES_REQUEST
    )
}

pub(crate) fn list_requests(conn: &Connection, q: &ListQuery) -> Result<Vec<RequestSummary>> {
    let filter = q.filter(&Columns {
        key: "r.api_key_id",
        session: "r.session_id",
        model: "r.model",
        time: "r.received_at",
    });
    let sql = format!(
        "{} {} ORDER BY r.received_at DESC, r.rowid DESC LIMIT ? OFFSET ?",
        request_select(requests_index(q)),
        filter.clause
    );
    let page = q.page_args();
    let args = filter.args.iter().chain(page.iter());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), request_summary)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get_request_summary(conn: &Connection, id: &str) -> Result<Option<RequestSummary>> {
    let sql = format!("{} WHERE r.id = ?1", request_select(index::REQUESTS_PK));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], request_summary)
        .optional()?)
}

/// A request and its response's figures, by the request's id.
pub(crate) fn exchange(conn: &Connection, request_id: &str) -> Result<Option<Exchange>> {
    let sql = format!(
        "SELECT r.id, r.session_id, r.endpoint, r.model, r.stream, r.api_key_id,
                r.client_request_id, r.prior_request_id, r.message_count, r.chat_id,
                r.parent_id, r.account, r.received_at, p.status, p.id AS response_id,
                p.error_kind,
                p.finish_reason, p.prompt_tokens, p.completion_tokens, p.reasoning_tokens,
                p.total_tokens, p.first_token_ms, p.duration_ms, p.created_at,
                CASE WHEN json_valid(p.tool_calls) THEN json_array_length(p.tool_calls)
                     ELSE 0 END AS tool_calls
         FROM requests r INDEXED BY {}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id
         WHERE r.id = ?1",
        index::REQUESTS_PK,
        index::RESPONSES_REQUEST
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([request_id], |row| {
            Ok(Exchange {
                request: request_summary(row)?,
                response_id: row.get("response_id")?,
                error_kind: row.get("error_kind")?,
                finish_reason: row.get("finish_reason")?,
                prompt_tokens: row.get("prompt_tokens")?,
                completion_tokens: row.get("completion_tokens")?,
                reasoning_tokens: row.get("reasoning_tokens")?,
                total_tokens: row.get("total_tokens")?,
                tool_calls: row.get("tool_calls")?,
                first_token_ms: row.get("first_token_ms")?,
                duration_ms: row.get("duration_ms")?,
                completed_at: row.get("created_at")?,
            })
        })
        .optional()?)
}

fn request_summary(row: &Row<'_>) -> rusqlite::Result<RequestSummary> {
    Ok(RequestSummary {
        object: "request",
        id: row.get("id")?,
        session_id: row.get("session_id")?,
        endpoint: row.get("endpoint")?,
        model: row.get("model")?,
        stream: row.get("stream")?,
        api_key_id: row.get("api_key_id")?,
        client_request_id: row.get("client_request_id")?,
        prior_request_id: row.get("prior_request_id")?,
        message_count: row.get("message_count")?,
        chat_id: row.get("chat_id")?,
        parent_id: row.get("parent_id")?,
        account: row.get("account")?,
        received_at: row.get("received_at")?,
        status: row.get("status")?,
    })
}

/// Responses read through `index`, each with its request looked up by id.
fn response_select(index: &str) -> String {
    format!(
        "SELECT p.*, r.model, r.api_key_id FROM responses p INDEXED BY {index}
             CROSS JOIN requests r INDEXED BY {} ON r.id = p.request_id",
        index::REQUESTS_PK
    )
}

/// Responses filtered by their request, which is read first through `index`.
fn response_select_by_request(index: &str) -> String {
    format!(
        "SELECT p.*, r.model, r.api_key_id FROM requests r INDEXED BY {index}
             CROSS JOIN responses p INDEXED BY {} ON p.request_id = r.id",
        index::RESPONSES_REQUEST
    )
}

pub(crate) fn list_responses(conn: &Connection, q: &ListQuery) -> Result<Vec<ResponseRow>> {
    let filter = q.filter(&Columns {
        key: "r.api_key_id",
        session: "r.session_id",
        model: "r.model",
        time: "p.created_at",
    });
    // A session's or a model's responses are found through their requests (and sorted: a
    // session has few); the newest of all are read off the responses' time index.
    let select = if q.session_id.is_some() || q.model.is_some() {
        response_select_by_request(requests_index(q))
    } else {
        response_select(index::RESPONSES_CREATED)
    };
    let sql = format!(
        "{select} {} ORDER BY p.created_at DESC, p.rowid DESC LIMIT ? OFFSET ?",
        filter.clause
    );
    let page = q.page_args();
    let args = filter.args.iter().chain(page.iter());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), response_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get_response(conn: &Connection, id: &str) -> Result<Option<ResponseRow>> {
    let sql = format!("{} WHERE p.id = ?1", response_select(index::RESPONSES_PK));
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id], response_row)
        .optional()?)
}

pub(crate) fn response_for_request(
    conn: &Connection,
    request_id: &str,
) -> Result<Option<ResponseRow>> {
    let sql = format!(
        "{} WHERE p.request_id = ?1",
        response_select(index::RESPONSES_REQUEST)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![request_id], response_row)
        .optional()?)
}

pub(crate) fn response_row(row: &Row<'_>) -> rusqlite::Result<ResponseRow> {
    Ok(ResponseRow {
        object: "response",
        id: row.get("id")?,
        request_id: row.get("request_id")?,
        session_id: row.get("session_id")?,
        model: row.get("model")?,
        api_key_id: row.get("api_key_id")?,
        response_id: row.get("response_id")?,
        status: row.get("status")?,
        error_kind: row.get("error_kind")?,
        error_message: row.get("error_message")?,
        content: row.get("content")?,
        reasoning: row.get("reasoning")?,
        tool_calls: decode_calls(row.get("tool_calls")?),
        upstream_turns: row
            .get::<_, Option<String>>("upstream_turns")?
            .map(parse_json),
        finish_reason: row.get("finish_reason")?,
        prompt_tokens: row.get("prompt_tokens")?,
        completion_tokens: row.get("completion_tokens")?,
        reasoning_tokens: row.get("reasoning_tokens")?,
        total_tokens: row.get("total_tokens")?,
        upstream_first_byte_ms: row.get("upstream_first_byte_ms")?,
        first_token_ms: row.get("first_token_ms")?,
        duration_ms: row.get("duration_ms")?,
        created_at: row.get("created_at")?,
        withdrawn_at: row.get("withdrawn_at")?,
    })
}
