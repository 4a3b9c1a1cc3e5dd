//! Every read of the PostgreSQL store: the lists, single rows, rebuilt histories and
//! statistics the SQLite store answers with `queries`, `history` and `stats`, returning the
//! same shapes (`views`), in the same order, with the same filters.
//!
//! A read made of several statements runs in one read-only REPEATABLE READ transaction (the
//! caller opens it), so it sees one snapshot while other replicas write, as the SQLite
//! store's reads do. Ties in time are broken by each table's insertion sequence `seq`, as
//! SQLite breaks them by `rowid`. A history is rebuilt the same way too, with a recursive
//! query instead of one lookup per turn.

use std::collections::{HashMap, HashSet};

use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use crate::store::codec::{decode_calls, parse_json};
use crate::store::filter::Columns;
use crate::store::params::assemble;
use crate::store::search::{self, CLOSE, MAX_WORDS, OPEN, SNIPPET_TOKENS};
use crate::store::stats::{UsageRow, aggregate};
use crate::store::{
    ConvNode, Error, Exchange, Fingerprint, GroupBy, ListQuery, RequestDetail, RequestSummary,
    ResponseRow, Result, SessionExport, SessionKey, SessionMatch, SessionStats, SessionSummary,
    Statistics, StoredMessage, StoredToolCall, Transcript, Turn, UsageReport,
};

/// The longest chain of requests followed when rebuilding a history (as SQLite's).
const MAX_DEPTH: i64 = 10_000;

/// A column of `row`, or the driver's error (never a panic on a surprising row).
fn get<'a, T: FromSql<'a>>(row: &'a Row, column: &str) -> Result<T> {
    row.try_get(column).map_err(Error::Postgres)
}

/// Query arguments collected while a statement is written, numbered `$1…`.
#[derive(Default)]
struct Args {
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Args {
    /// Adds `value` and returns its placeholder.
    fn push(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    /// The `WHERE` clause (possibly empty) of `q` over `cols`.
    fn filter(&mut self, q: &ListQuery, cols: &Columns) -> String {
        let mut clauses = Vec::new();
        if let Some(session) = &q.session_id {
            clauses.push(format!("{} = {}", cols.session, self.push(session.clone())));
        }
        if let Some(model) = &q.model {
            clauses.push(format!("{} = {}", cols.model, self.push(model.clone())));
        }
        if let Some(key) = &q.api_key_id {
            clauses.push(format!("{} = {}", cols.key, self.push(key.clone())));
        }
        if let Some(since) = q.since_ms {
            clauses.push(format!("{} >= {}", cols.time, self.push(since)));
        }
        if let Some(until) = q.until_ms {
            clauses.push(format!("{} <= {}", cols.time, self.push(until)));
        }
        if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        }
    }

    /// `LIMIT $n OFFSET $m` of `q`.
    fn page(&mut self, q: &ListQuery) -> String {
        let limit = self.push(i64::from(q.limit));
        let offset = self.push(i64::from(q.offset));
        format!("LIMIT {limit} OFFSET {offset}")
    }
}

// --- The conversation index ------------------------------------------------------------------

/// The remembered node with the most messages among `fingerprints` (ties: the most recently
/// used), in a session owned by the key named `owner` (`None`: a keyless session).
pub(crate) async fn lookup_prefix(
    c: &impl GenericClient,
    fingerprints: &[Fingerprint],
    owner: Option<&str>,
) -> Result<Option<ConvNode>> {
    let fps: Vec<&[u8]> = fingerprints.iter().map(|fp| &fp[..]).collect();
    let row = c
        .query_opt(
            "SELECT n.fingerprint, n.session_id, n.chat_id, n.response_id, n.model,
                    n.request_id, n.message_count, n.last_used_at, s.account
             FROM conversation_nodes n JOIN sessions s ON s.id = n.session_id
             WHERE n.fingerprint = ANY($1) AND s.api_key_id IS NOT DISTINCT FROM $2
             ORDER BY n.message_count DESC, n.last_used_at DESC LIMIT 1",
            &[&fps, &owner],
        )
        .await?;
    row.as_ref().map(node).transpose()
}

fn node(row: &Row) -> Result<ConvNode> {
    let raw: &[u8] = get(row, "fingerprint")?;
    // The CHECK constraint keeps every stored fingerprint at 16 bytes.
    let mut fingerprint = [0_u8; 16];
    let n = raw.len().min(16);
    fingerprint[..n].copy_from_slice(&raw[..n]);
    Ok(ConvNode {
        fingerprint,
        session_id: get(row, "session_id")?,
        chat_id: get(row, "chat_id")?,
        response_id: get(row, "response_id")?,
        model: get(row, "model")?,
        request_id: get(row, "request_id")?,
        message_count: get(row, "message_count")?,
        last_used_at: get(row, "last_used_at")?,
        account: get(row, "account")?,
    })
}

// --- Sessions --------------------------------------------------------------------------------

const SESSION_COLUMNS: Columns = Columns {
    key: "s.api_key_id",
    session: "s.id",
    model: "s.model",
    time: "s.updated_at",
};

/// A query for the sessions that `page` (a `SELECT` over `sessions s` with its `seq`)
/// picks, with their totals computed for those sessions only.
fn with_totals(page: &str) -> String {
    format!(
        "WITH page AS ({page}),
         totals AS (
             SELECT r.session_id, count(*) AS turns,
                    coalesce(sum(p.prompt_tokens), 0)::bigint AS prompt_tokens,
                    coalesce(sum(p.completion_tokens), 0)::bigint AS completion_tokens,
                    coalesce(sum(p.total_tokens), 0)::bigint AS total_tokens,
                    coalesce(sum(json_array_length(p.tool_calls::json)), 0)::bigint
                        AS tool_calls
             FROM requests r LEFT JOIN responses p ON p.request_id = r.id
             WHERE r.session_id IN (SELECT id FROM page)
             GROUP BY r.session_id)
         SELECT page.*, coalesce(t.turns, 0)::bigint AS turns,
                coalesce(t.prompt_tokens, 0)::bigint AS prompt_tokens,
                coalesce(t.completion_tokens, 0)::bigint AS completion_tokens,
                coalesce(t.total_tokens, 0)::bigint AS total_tokens,
                coalesce(t.tool_calls, 0)::bigint AS tool_calls
         FROM page LEFT JOIN totals t ON t.session_id = page.id
         ORDER BY page.updated_at DESC, page.seq DESC"
    )
}

const SESSION_FIELDS: &str = "s.id, s.chat_id, s.model, s.title, s.source, s.api_key_id,
    s.account, s.created_at, s.updated_at, s.seq";

pub(crate) async fn list_sessions(
    c: &impl GenericClient,
    q: &ListQuery,
) -> Result<Vec<SessionSummary>> {
    let mut args = Args::default();
    let filter = args.filter(q, &SESSION_COLUMNS);
    let page = args.page(q);
    let sql = with_totals(&format!(
        "SELECT {SESSION_FIELDS} FROM sessions s {filter}
         ORDER BY s.updated_at DESC, s.seq DESC {page}"
    ));
    let rows = c.query(&sql, &args.refs()).await?;
    rows.iter().map(session_summary).collect()
}

pub(crate) async fn get_session(
    c: &impl GenericClient,
    id: &str,
) -> Result<Option<SessionSummary>> {
    let sql = with_totals(&format!(
        "SELECT {SESSION_FIELDS} FROM sessions s WHERE s.id = $1"
    ));
    let row = c.query_opt(&sql, &[&id]).await?;
    row.as_ref().map(session_summary).transpose()
}

pub(crate) async fn session_ids(c: &impl GenericClient, q: &ListQuery) -> Result<Vec<String>> {
    let mut args = Args::default();
    let filter = args.filter(q, &SESSION_COLUMNS);
    let page = args.page(q);
    let sql = format!(
        "SELECT s.id FROM sessions s {filter} ORDER BY s.updated_at DESC, s.seq DESC {page}"
    );
    let rows = c.query(&sql, &args.refs()).await?;
    rows.iter().map(|row| get(row, "id")).collect()
}

pub(crate) async fn count_sessions(c: &impl GenericClient) -> Result<u64> {
    let row = c.query_one("SELECT count(*) FROM sessions", &[]).await?;
    let n: i64 = row.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Up to `limit` sessions, newest first by creation, after `after`.
pub(crate) async fn sessions_by_creation(
    c: &impl GenericClient,
    after: Option<&SessionKey>,
    limit: u32,
) -> Result<Vec<SessionKey>> {
    let limit = i64::from(limit);
    let rows = match after {
        Some(after) => {
            c.query(
                "SELECT created_at, id FROM sessions WHERE (created_at, id) < ($1, $2)
                 ORDER BY created_at DESC, id DESC LIMIT $3",
                &[&after.created_at, &after.id, &limit],
            )
            .await?
        }
        None => {
            c.query(
                "SELECT created_at, id FROM sessions ORDER BY created_at DESC, id DESC LIMIT $1",
                &[&limit],
            )
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(SessionKey {
                created_at: get(row, "created_at")?,
                id: get(row, "id")?,
            })
        })
        .collect()
}

pub(crate) async fn active_sessions(c: &impl GenericClient, since_ms: i64) -> Result<u64> {
    let row = c
        .query_one(
            "SELECT count(*) FROM sessions WHERE updated_at >= $1",
            &[&since_ms],
        )
        .await?;
    let n: i64 = row.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn session_summary(row: &Row) -> Result<SessionSummary> {
    Ok(SessionSummary {
        object: "session",
        id: get(row, "id")?,
        chat_id: get(row, "chat_id")?,
        model: get(row, "model")?,
        title: get(row, "title")?,
        source: get(row, "source")?,
        api_key_id: get(row, "api_key_id")?,
        account: get(row, "account")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        turns: get(row, "turns")?,
        prompt_tokens: get(row, "prompt_tokens")?,
        completion_tokens: get(row, "completion_tokens")?,
        total_tokens: get(row, "total_tokens")?,
        tool_calls: get(row, "tool_calls")?,
    })
}

// --- Requests and responses -----------------------------------------------------------------

const REQUEST_SELECT: &str = "SELECT r.id, r.session_id, r.endpoint, r.model, r.stream,
        r.api_key_id, r.client_request_id, r.prior_request_id, r.message_count, r.chat_id,
        r.parent_id, r.account, r.received_at, p.status
    FROM requests r LEFT JOIN responses p ON p.request_id = r.id";

pub(crate) async fn list_requests(
    c: &impl GenericClient,
    q: &ListQuery,
) -> Result<Vec<RequestSummary>> {
    let mut args = Args::default();
    let filter = args.filter(
        q,
        &Columns {
            key: "r.api_key_id",
            session: "r.session_id",
            model: "r.model",
            time: "r.received_at",
        },
    );
    let page = args.page(q);
    let sql = format!("{REQUEST_SELECT} {filter} ORDER BY r.received_at DESC, r.seq DESC {page}");
    let rows = c.query(&sql, &args.refs()).await?;
    rows.iter().map(request_summary).collect()
}

async fn get_request_summary(c: &impl GenericClient, id: &str) -> Result<Option<RequestSummary>> {
    let sql = format!("{REQUEST_SELECT} WHERE r.id = $1");
    let row = c.query_opt(&sql, &[&id]).await?;
    row.as_ref().map(request_summary).transpose()
}

fn request_summary(row: &Row) -> Result<RequestSummary> {
    Ok(RequestSummary {
        object: "request",
        id: get(row, "id")?,
        session_id: get(row, "session_id")?,
        endpoint: get(row, "endpoint")?,
        model: get(row, "model")?,
        stream: get(row, "stream")?,
        api_key_id: get(row, "api_key_id")?,
        client_request_id: get(row, "client_request_id")?,
        prior_request_id: get(row, "prior_request_id")?,
        message_count: get(row, "message_count")?,
        chat_id: get(row, "chat_id")?,
        parent_id: get(row, "parent_id")?,
        account: get(row, "account")?,
        received_at: get(row, "received_at")?,
        status: get(row, "status")?,
    })
}

pub(crate) async fn get_request(c: &impl GenericClient, id: &str) -> Result<Option<RequestDetail>> {
    let Some(summary) = get_request_summary(c, id).await? else {
        return Ok(None);
    };
    let Some(bodies) = c
        .query_opt(
            "SELECT params, upstream_request FROM requests WHERE id = $1",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let params: String = get(&bodies, "params")?;
    let upstream: Option<String> = get(&bodies, "upstream_request")?;
    let shared = c
        .query(
            "SELECT l.name, s.content FROM request_shared_params l
                 JOIN shared_params s ON s.id = l.shared_id
             WHERE l.request_id = $1 ORDER BY l.name",
            &[&id],
        )
        .await?
        .iter()
        .map(|row| Ok((get(row, "name")?, get(row, "content")?)))
        .collect::<Result<Vec<(String, String)>>>()?;
    let new_messages = messages_of(c, &[id.to_owned()])
        .await?
        .remove(id)
        .unwrap_or_default();
    Ok(Some(RequestDetail {
        summary,
        params: assemble(params, shared),
        upstream_request: upstream.map(parse_json),
        new_messages,
        messages: full_messages(c, id).await?,
    }))
}

const RESPONSE_SELECT: &str = "SELECT p.id, p.request_id, p.session_id, p.response_id,
        p.status, p.error_kind, p.error_message, p.content, p.reasoning, p.tool_calls,
        p.upstream_turns, p.finish_reason, p.prompt_tokens, p.completion_tokens,
        p.reasoning_tokens, p.total_tokens, p.upstream_first_byte_ms, p.first_token_ms,
        p.duration_ms, p.created_at, p.withdrawn_at, r.model, r.api_key_id
    FROM responses p JOIN requests r ON r.id = p.request_id";

pub(crate) async fn list_responses(
    c: &impl GenericClient,
    q: &ListQuery,
) -> Result<Vec<ResponseRow>> {
    let mut args = Args::default();
    let filter = args.filter(
        q,
        &Columns {
            key: "r.api_key_id",
            session: "r.session_id",
            model: "r.model",
            time: "p.created_at",
        },
    );
    let page = args.page(q);
    let sql = format!("{RESPONSE_SELECT} {filter} ORDER BY p.created_at DESC, p.seq DESC {page}");
    let rows = c.query(&sql, &args.refs()).await?;
    rows.iter().map(response_row).collect()
}

pub(crate) async fn get_response(c: &impl GenericClient, id: &str) -> Result<Option<ResponseRow>> {
    let sql = format!("{RESPONSE_SELECT} WHERE p.id = $1");
    let row = c.query_opt(&sql, &[&id]).await?;
    row.as_ref().map(response_row).transpose()
}

pub(crate) async fn response_for_request(
    c: &impl GenericClient,
    request_id: &str,
) -> Result<Option<ResponseRow>> {
    let sql = format!("{RESPONSE_SELECT} WHERE p.request_id = $1");
    let row = c.query_opt(&sql, &[&request_id]).await?;
    row.as_ref().map(response_row).transpose()
}

fn response_row(row: &Row) -> Result<ResponseRow> {
    Ok(ResponseRow {
        object: "response",
        id: get(row, "id")?,
        request_id: get(row, "request_id")?,
        session_id: get(row, "session_id")?,
        model: get(row, "model")?,
        api_key_id: get(row, "api_key_id")?,
        response_id: get(row, "response_id")?,
        status: get(row, "status")?,
        error_kind: get(row, "error_kind")?,
        error_message: get(row, "error_message")?,
        content: get(row, "content")?,
        reasoning: get(row, "reasoning")?,
        tool_calls: decode_calls(get(row, "tool_calls")?),
        upstream_turns: get::<Option<String>>(row, "upstream_turns")?.map(parse_json),
        finish_reason: get(row, "finish_reason")?,
        prompt_tokens: get(row, "prompt_tokens")?,
        completion_tokens: get(row, "completion_tokens")?,
        reasoning_tokens: get(row, "reasoning_tokens")?,
        total_tokens: get(row, "total_tokens")?,
        upstream_first_byte_ms: get(row, "upstream_first_byte_ms")?,
        first_token_ms: get(row, "first_token_ms")?,
        duration_ms: get(row, "duration_ms")?,
        created_at: get(row, "created_at")?,
        withdrawn_at: get(row, "withdrawn_at")?,
    })
}

// --- Statistics ------------------------------------------------------------------------------

pub(crate) async fn response_stats(c: &impl GenericClient, q: &ListQuery) -> Result<Statistics> {
    let mut args = Args::default();
    let filter = args.filter(
        q,
        &Columns {
            key: "r.api_key_id",
            session: "r.session_id",
            model: "r.model",
            time: "r.received_at",
        },
    );
    let sql = format!(
        "SELECT count(*) AS total_requests, count(p.request_id) AS total_responses,
                count(*) FILTER (WHERE p.status = 'ok') AS ok,
                count(*) FILTER (WHERE p.status = 'error') AS errors,
                count(*) FILTER (WHERE p.status = 'partial') AS partial,
                count(*) FILTER (WHERE p.status = 'cancelled') AS cancelled,
                coalesce(sum(p.total_tokens), 0)::bigint AS total_tokens,
                coalesce(sum(p.prompt_tokens), 0)::bigint AS prompt_tokens,
                coalesce(sum(p.completion_tokens), 0)::bigint AS completion_tokens,
                coalesce(sum(p.reasoning_tokens), 0)::bigint AS reasoning_tokens,
                coalesce(avg(p.duration_ms), 0)::float8 AS avg_duration_ms,
                coalesce(avg(p.first_token_ms), 0)::float8 AS avg_first_token_ms
         FROM requests r LEFT JOIN responses p ON p.request_id = r.id {filter}"
    );
    let row = c.query_one(&sql, &args.refs()).await?;
    Ok(Statistics {
        total_requests: get(&row, "total_requests")?,
        total_responses: get(&row, "total_responses")?,
        ok: get(&row, "ok")?,
        errors: get(&row, "errors")?,
        partial: get(&row, "partial")?,
        cancelled: get(&row, "cancelled")?,
        total_tokens: get(&row, "total_tokens")?,
        prompt_tokens: get(&row, "prompt_tokens")?,
        completion_tokens: get(&row, "completion_tokens")?,
        reasoning_tokens: get(&row, "reasoning_tokens")?,
        avg_duration_ms: get(&row, "avg_duration_ms")?,
        avg_first_token_ms: get(&row, "avg_first_token_ms")?,
    })
}

pub(crate) async fn session_stats(
    c: &impl GenericClient,
    id: &str,
) -> Result<Option<SessionStats>> {
    let exists = c
        .query_opt("SELECT 1 FROM sessions WHERE id = $1", &[&id])
        .await?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let q = ListQuery {
        session_id: Some(id.to_owned()),
        ..ListQuery::default()
    };
    Ok(Some(SessionStats {
        session_id: id.to_owned(),
        statistics: response_stats(c, &q).await?,
    }))
}

pub(crate) async fn usage_report(
    c: &impl GenericClient,
    q: &ListQuery,
    by: Option<GroupBy>,
) -> Result<UsageReport> {
    let mut args = Args::default();
    let filter = args.filter(
        q,
        &Columns {
            key: "r.api_key_id",
            session: "r.session_id",
            model: "r.model",
            time: "r.received_at",
        },
    );
    let sql = format!(
        "SELECT r.model,
            to_char(to_timestamp(r.received_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
            to_char(to_timestamp(r.received_at / 1000) AT TIME ZONE 'UTC',
                'YYYY-MM-DD\"T\"HH24:00:00\"Z\"') AS hour,
            p.status, p.error_kind, p.prompt_tokens, p.completion_tokens, p.reasoning_tokens,
            p.total_tokens, p.duration_ms, p.first_token_ms
         FROM requests r LEFT JOIN responses p ON p.request_id = r.id {filter}"
    );
    let rows = c.query(&sql, &args.refs()).await?;
    let mut read = Vec::with_capacity(rows.len());
    for row in &rows {
        let status: Option<String> = get(row, "status")?;
        let figure =
            |name: &str| -> Result<i64> { Ok(get::<Option<i64>>(row, name)?.unwrap_or(0)) };
        read.push(UsageRow {
            model: get(row, "model")?,
            day: get(row, "day")?,
            hour: get(row, "hour")?,
            error_kind: get(row, "error_kind")?,
            prompt_tokens: figure("prompt_tokens")?,
            completion_tokens: figure("completion_tokens")?,
            reasoning_tokens: figure("reasoning_tokens")?,
            total_tokens: figure("total_tokens")?,
            duration_ms: figure("duration_ms")?,
            first_token_ms: get(row, "first_token_ms")?,
            status,
        });
    }
    Ok(aggregate(read, q.since_ms, by))
}

/// A request with its response's figures, as `GET /v1/events` sends it.
pub(crate) async fn exchange(c: &impl GenericClient, request_id: &str) -> Result<Option<Exchange>> {
    let row = c
        .query_opt(
            "SELECT r.id, r.session_id, r.endpoint, r.model, r.stream, r.api_key_id,
                    r.client_request_id, r.prior_request_id, r.message_count, r.chat_id,
                    r.parent_id, r.account, r.received_at, p.status, p.id AS response_id,
                    p.error_kind,
                    p.finish_reason, p.prompt_tokens, p.completion_tokens, p.reasoning_tokens,
                    p.total_tokens, p.first_token_ms, p.duration_ms, p.created_at,
                    coalesce(json_array_length(p.tool_calls::json), 0)::bigint AS tool_calls
             FROM requests r LEFT JOIN responses p ON p.request_id = r.id
             WHERE r.id = $1",
            &[&request_id],
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Exchange {
        request: request_summary(&row)?,
        response_id: get(&row, "response_id")?,
        error_kind: get(&row, "error_kind")?,
        finish_reason: get(&row, "finish_reason")?,
        prompt_tokens: get(&row, "prompt_tokens")?,
        completion_tokens: get(&row, "completion_tokens")?,
        reasoning_tokens: get(&row, "reasoning_tokens")?,
        total_tokens: get(&row, "total_tokens")?,
        tool_calls: get(&row, "tool_calls")?,
        first_token_ms: get(&row, "first_token_ms")?,
        duration_ms: get(&row, "duration_ms")?,
        completed_at: get(&row, "created_at")?,
    }))
}

// --- Search ----------------------------------------------------------------------------------

/// The words of what a person typed, as the SQLite store takes them (a word without a
/// letter or digit dropped, at most [`MAX_WORDS`]), joined for `plainto_tsquery`, which
/// matches them as plain words (never as query syntax) and requires all of them.
fn search_words(input: &str) -> Option<String> {
    // PostgreSQL's text cannot hold a NUL; it separates words like a space.
    let input = input.replace('\0', " ");
    let words: Vec<&str> = input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .take(MAX_WORDS)
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The sessions whose messages (those clients sent) or answers (text or reasoning) contain
/// every word of `text`, filtered and paged by `q`, newest first, each with a snippet of
/// its newest match: the SQLite store's search, with PostgreSQL's text search over migration
/// 0002's indexes (configuration `qwenctl_search`: words lowercased and, where the
/// `unaccent` extension could be installed, without diacritics; never stemmed).
pub(crate) async fn search_sessions(
    c: &impl GenericClient,
    text: &str,
    q: &ListQuery,
) -> Result<Vec<SessionMatch>> {
    let Some(words) = search_words(text) else {
        return Ok(Vec::new());
    };
    let mut args = Args::default();
    let query = args.push(words.clone());
    let filter = args.filter(q, &SESSION_COLUMNS);
    let page = args.page(q);
    // Each session's newest hit, then the usual filters and paging on the sessions.
    let sql = with_totals(&format!(
        "WITH hit AS (
             SELECT r.session_id, 0 AS kind, m.id AS doc, r.received_at AS at
             FROM messages m JOIN request_messages rm ON rm.message_id = m.id
                  JOIN requests r ON r.id = rm.request_id
             WHERE m.role <> 'assistant'
               AND to_tsvector('qwenctl_search', m.content) @@ plainto_tsquery('qwenctl_search', {query})
               AND r.session_id IS NOT NULL
             UNION ALL
             SELECT p.session_id, 1, p.seq, p.created_at FROM responses p
             WHERE to_tsvector('qwenctl_search', p.content || ' ' || p.reasoning)
                       @@ plainto_tsquery('qwenctl_search', {query})
               AND p.session_id IS NOT NULL),
         best AS (
             SELECT DISTINCT ON (session_id) session_id, kind, doc
             FROM hit ORDER BY session_id, at DESC)
         SELECT {SESSION_FIELDS}, best.kind AS hit_kind, best.doc AS hit_doc
         FROM best JOIN sessions s ON s.id = best.session_id {filter}
         ORDER BY s.updated_at DESC, s.seq DESC {page}"
    ));
    let rows = c.query(&sql, &args.refs()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let session = session_summary(row)?;
        let kind: i32 = get(row, "hit_kind")?;
        let doc: i64 = get(row, "hit_doc")?;
        let snippet = snippet(c, &words, kind, doc).await?;
        out.push(SessionMatch { session, snippet });
    }
    Ok(out)
}

/// The snippet of one matching message (`kind` 0, by id) or answer (1, by `seq`: its text
/// when that matches, else its reasoning), marked as the SQLite store marks its snippets,
/// with `…` where it cuts the text as FTS5 does, and split into the same segments.
async fn snippet(
    c: &impl GenericClient,
    words: &str,
    kind: i32,
    doc: i64,
) -> Result<Vec<search::Segment>> {
    let options = format!(
        "StartSel={OPEN}, StopSel={CLOSE}, MaxWords={SNIPPET_TOKENS}, MinWords={}, ShortWord=0",
        SNIPPET_TOKENS / 2
    );
    let sql = if kind == 0 {
        "SELECT content AS text FROM messages WHERE id = $2"
    } else {
        "SELECT CASE WHEN to_tsvector('qwenctl_search', content)
                          @@ plainto_tsquery('qwenctl_search', $1)
                     THEN content ELSE reasoning END AS text
         FROM responses WHERE seq = $2"
    };
    let sql = format!(
        "SELECT text, ts_headline('qwenctl_search', text, plainto_tsquery('qwenctl_search', $1),
                    $3) AS marked
         FROM ({sql}) AS doc"
    );
    let Some(row) = c.query_opt(&sql, &[&words, &doc, &options]).await? else {
        return Ok(Vec::new());
    };
    let text: String = get(&row, "text")?;
    let mut marked: String = get(&row, "marked")?;
    let plain: String = marked
        .chars()
        .filter(|&ch| ch != OPEN && ch != CLOSE)
        .collect();
    if !text.trim_start().starts_with(plain.trim_start()) {
        marked.insert(0, '…');
    }
    if !text.trim_end().ends_with(plain.trim_end()) {
        marked.push('…');
    }
    Ok(search::segments(&marked))
}

// --- Histories -------------------------------------------------------------------------------

fn message(row: &Row) -> Result<StoredMessage> {
    Ok(StoredMessage {
        role: get(row, "role")?,
        content: get(row, "content")?,
        tool_calls: decode_calls(get(row, "tool_calls")?),
        tool_call_id: get(row, "tool_call_id")?,
        name: get(row, "name")?,
    })
}

/// An answer as the assistant message the client will send back: its text and its calls.
fn assistant(content: String, tool_calls: Vec<StoredToolCall>) -> StoredMessage {
    StoredMessage {
        tool_calls,
        ..StoredMessage::text("assistant", content)
    }
}

/// The messages stored with each of `ids`, in order.
async fn messages_of(
    c: &impl GenericClient,
    ids: &[String],
) -> Result<HashMap<String, Vec<StoredMessage>>> {
    let rows = c
        .query(
            "SELECT rm.request_id, m.role, m.content, m.tool_calls, m.tool_call_id, m.name
             FROM request_messages rm JOIN messages m ON m.id = rm.message_id
             WHERE rm.request_id = ANY($1) ORDER BY rm.request_id, rm.position",
            &[&ids],
        )
        .await?;
    let mut out: HashMap<String, Vec<StoredMessage>> = HashMap::new();
    for row in &rows {
        out.entry(get(row, "request_id")?)
            .or_default()
            .push(message(row)?);
    }
    Ok(out)
}

/// The answers recorded for each of `ids` that has one.
async fn answers_of(
    c: &impl GenericClient,
    ids: &[String],
) -> Result<HashMap<String, StoredMessage>> {
    let rows = c
        .query(
            "SELECT request_id, content, tool_calls FROM responses WHERE request_id = ANY($1)",
            &[&ids],
        )
        .await?;
    let mut out = HashMap::new();
    for row in &rows {
        let answer = assistant(get(row, "content")?, decode_calls(get(row, "tool_calls")?));
        out.insert(get(row, "request_id")?, answer);
    }
    Ok(out)
}

/// `request_id` and the requests it continues, newest first, through `prior_request_id`;
/// bounded in depth and stopped at the first repeat, so a damaged chain cannot hang a read.
async fn chain(c: &impl GenericClient, request_id: &str) -> Result<Vec<String>> {
    let rows = c
        .query(
            "WITH RECURSIVE chain (id, prior, depth) AS (
                 SELECT id, prior_request_id, 1::bigint FROM requests WHERE id = $1
                 UNION ALL
                 SELECT r.id, r.prior_request_id, chain.depth + 1
                 FROM chain JOIN requests r ON r.id = chain.prior
                 WHERE chain.depth < $2)
             SELECT id FROM chain ORDER BY depth",
            &[&request_id, &MAX_DEPTH],
        )
        .await?;
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = get(row, "id")?;
        if !seen.insert(id.clone()) {
            break;
        }
        ids.push(id);
    }
    if ids.is_empty() {
        ids.push(request_id.to_owned());
    }
    if i64::try_from(ids.len()).unwrap_or(i64::MAX) >= MAX_DEPTH {
        tracing::warn!(
            request_id,
            "request history is deeper than {MAX_DEPTH}; truncated"
        );
    }
    Ok(ids)
}

/// The full message list the client sent with `request_id`:
/// `full(prior) + [prior's answer] + new_messages`, unrolled.
async fn full_messages(c: &impl GenericClient, request_id: &str) -> Result<Vec<StoredMessage>> {
    let ids = chain(c, request_id).await?;
    let mut new = messages_of(c, &ids).await?;
    let mut answers = answers_of(c, &ids).await?;
    let mut messages = Vec::new();
    let mut oldest_first = ids.iter().rev().peekable();
    while let Some(id) = oldest_first.next() {
        messages.extend(new.remove(id).unwrap_or_default());
        if oldest_first.peek().is_some() {
            messages.extend(answers.remove(id));
        }
    }
    Ok(messages)
}

/// A session's turns in request order, each with the request it continued.
async fn session_turns(
    c: &impl GenericClient,
    session_id: &str,
) -> Result<Vec<(Turn, Option<String>)>> {
    let mut by_request: HashMap<String, Vec<StoredMessage>> = HashMap::new();
    let rows = c
        .query(
            "SELECT rm.request_id, m.role, m.content, m.tool_calls, m.tool_call_id, m.name
             FROM requests r JOIN request_messages rm ON rm.request_id = r.id
                  JOIN messages m ON m.id = rm.message_id
             WHERE r.session_id = $1 ORDER BY rm.request_id, rm.position",
            &[&session_id],
        )
        .await?;
    for row in &rows {
        by_request
            .entry(get(row, "request_id")?)
            .or_default()
            .push(message(row)?);
    }
    let rows = c
        .query(
            "SELECT r.id, r.received_at, r.model, p.content, p.reasoning, p.status,
                    p.finish_reason, p.prompt_tokens, p.completion_tokens, p.total_tokens,
                    p.tool_calls, p.upstream_turns, r.prior_request_id
             FROM requests r LEFT JOIN responses p ON p.request_id = r.id
             WHERE r.session_id = $1 ORDER BY r.received_at, r.seq",
            &[&session_id],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let request_id: String = get(row, "id")?;
            let turn = Turn {
                messages: by_request.remove(&request_id).unwrap_or_default(),
                request_id,
                received_at: get(row, "received_at")?,
                model: get(row, "model")?,
                content: get(row, "content")?,
                reasoning: get(row, "reasoning")?,
                status: get(row, "status")?,
                finish_reason: get(row, "finish_reason")?,
                prompt_tokens: get(row, "prompt_tokens")?,
                completion_tokens: get(row, "completion_tokens")?,
                total_tokens: get(row, "total_tokens")?,
                tool_calls: decode_calls(get(row, "tool_calls")?),
                upstream_turns: get::<Option<String>>(row, "upstream_turns")?.map(parse_json),
            };
            Ok((turn, get(row, "prior_request_id")?))
        })
        .collect()
}

pub(crate) async fn transcript(
    c: &impl GenericClient,
    session_id: &str,
) -> Result<Option<Transcript>> {
    let Some(session) = get_session(c, session_id).await? else {
        return Ok(None);
    };
    let turns = session_turns(c, session_id)
        .await?
        .into_iter()
        .map(|(turn, _prior)| turn)
        .collect();
    Ok(Some(Transcript { session, turns }))
}

/// The answer of a turn as the assistant message the client resends, when it has one.
fn turn_answer(turn: &Turn) -> Option<StoredMessage> {
    let content = turn.content.clone()?;
    Some(assistant(content, turn.tool_calls.clone()))
}

/// A session's transcript and conversation in one pass, as the SQLite store's
/// `session_export`: the history of its latest answered turn is followed through the
/// session's own turns, and only a prior request outside it is read again.
pub(crate) async fn session_export(
    c: &impl GenericClient,
    session_id: &str,
) -> Result<Option<SessionExport>> {
    let Some(session) = get_session(c, session_id).await? else {
        return Ok(None);
    };
    let rows = session_turns(c, session_id).await?;
    let last = rows
        .iter()
        .rposition(|(turn, _)| turn.status.as_deref() == Some("ok"))
        .map(|at| (at, true))
        .or_else(|| rows.len().checked_sub(1).map(|at| (at, false)));
    let mut conversation = Vec::new();
    if let Some((at, answered)) = last {
        let by_id: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, (turn, _))| (turn.request_id.as_str(), i))
            .collect();
        let mut chain = vec![at];
        let mut seen: HashSet<&str> = HashSet::from([rows[at].0.request_id.as_str()]);
        let mut outside: Option<&str> = None;
        while i64::try_from(chain.len()).unwrap_or(i64::MAX) < MAX_DEPTH {
            let Some(&current) = chain.last() else { break };
            match rows[current].1.as_deref() {
                Some(prior) if seen.insert(prior) => match by_id.get(prior) {
                    Some(&i) => chain.push(i),
                    None => {
                        outside = Some(prior);
                        break;
                    }
                },
                _ => break,
            }
        }
        if let Some(prior) = outside {
            conversation = full_messages(c, prior).await?;
            conversation.extend(answers_of(c, &[prior.to_owned()]).await?.remove(prior));
        }
        let mut oldest_first = chain.iter().rev().peekable();
        while let Some(&i) = oldest_first.next() {
            let turn = &rows[i].0;
            conversation.extend(turn.messages.iter().cloned());
            if oldest_first.peek().is_some() {
                conversation.extend(turn_answer(turn));
            }
        }
        if answered {
            conversation.extend(turn_answer(&rows[at].0));
        }
    }
    let turns = rows.into_iter().map(|(turn, _prior)| turn).collect();
    Ok(Some(SessionExport {
        transcript: Transcript { session, turns },
        conversation,
    }))
}

/// A session as one message list: the full history of its latest successfully answered
/// request followed by that answer, else the latest request's history; `None` when the
/// session does not exist.
pub(crate) async fn conversation(
    c: &impl GenericClient,
    session_id: &str,
) -> Result<Option<Vec<StoredMessage>>> {
    let exists = c
        .query_opt("SELECT 1 FROM sessions WHERE id = $1", &[&session_id])
        .await?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let latest_ok = c
        .query_opt(
            "SELECT r.id, p.content, p.tool_calls
             FROM requests r JOIN responses p ON p.request_id = r.id
             WHERE r.session_id = $1 AND p.status = 'ok'
             ORDER BY r.received_at DESC, r.seq DESC LIMIT 1",
            &[&session_id],
        )
        .await?;
    if let Some(row) = latest_ok {
        let request_id: String = get(&row, "id")?;
        let mut messages = full_messages(c, &request_id).await?;
        messages.push(assistant(
            get(&row, "content")?,
            decode_calls(get(&row, "tool_calls")?),
        ));
        return Ok(Some(messages));
    }
    let latest = c
        .query_opt(
            "SELECT id FROM requests WHERE session_id = $1
             ORDER BY received_at DESC, seq DESC LIMIT 1",
            &[&session_id],
        )
        .await?;
    match latest {
        Some(row) => {
            let id: String = get(&row, "id")?;
            Ok(Some(full_messages(c, &id).await?))
        }
        None => Ok(Some(Vec::new())),
    }
}
