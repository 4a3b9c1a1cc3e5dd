//! Rebuilding conversations from the deduplicated rows: a request's full message list, a
//! session's transcript and its exportable conversation.
//!
//! A request stores only the messages after the history it continued, and points at the
//! request that produced that history (`prior_request_id`). The full list is therefore
//! `full(prior) + [prior's answer] + new_messages`, unrolled here iteratively, oldest first,
//! with a depth bound and a cycle guard so a damaged chain cannot hang a read. An answer
//! comes back as the assistant message the client resends: its text and its tool calls.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Row};

use super::codec::{decode_calls, parse_json};
use super::params::assemble;
use super::queries::{self, index};
use super::{
    RequestDetail, Result, SessionExport, StoredMessage, StoredToolCall, Transcript, Turn,
};

/// The longest chain of requests followed when rebuilding a history.
const MAX_DEPTH: usize = 10_000;

/// The columns [`message`] reads, in its order, from `messages` aliased `m`.
const MESSAGE_COLUMNS: &str = "m.role, m.content, m.tool_calls, m.tool_call_id, m.name";

/// A message from [`MESSAGE_COLUMNS`], starting at column `at`.
fn message(row: &Row<'_>, at: usize) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        role: row.get(at)?,
        content: row.get(at + 1)?,
        tool_calls: decode_calls(row.get(at + 2)?),
        tool_call_id: row.get(at + 3)?,
        name: row.get(at + 4)?,
    })
}

/// An answer as the assistant message the client will send back: its text and its calls.
fn assistant(content: String, tool_calls: Vec<StoredToolCall>) -> StoredMessage {
    StoredMessage {
        tool_calls,
        ..StoredMessage::text("assistant", content)
    }
}

/// The messages stored with one request, in order.
fn new_messages(conn: &Connection, request_id: &str) -> Result<Vec<StoredMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM request_messages rm INDEXED BY {}
             CROSS JOIN messages m ON m.id = rm.message_id
         WHERE rm.request_id = ?1 ORDER BY rm.position",
        index::REQUEST_MESSAGES_PK
    ))?;
    let rows = stmt.query_map([request_id], |row| message(row, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The assistant answer recorded for a request, with its tool calls, if any.
fn answer(conn: &Connection, request_id: &str) -> Result<Option<StoredMessage>> {
    let found: Option<(String, Option<String>)> = conn
        .prepare_cached(&format!(
            "SELECT content, tool_calls FROM responses INDEXED BY {} WHERE request_id = ?1",
            index::RESPONSES_REQUEST
        ))?
        .query_row([request_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(found.map(|(content, calls)| assistant(content, decode_calls(calls))))
}

/// The full message list the client sent with `request_id`.
pub(crate) fn full_messages(conn: &Connection, request_id: &str) -> Result<Vec<StoredMessage>> {
    let mut chain = vec![request_id.to_owned()];
    let mut seen: HashSet<String> = chain.iter().cloned().collect();
    let mut prior_of = conn.prepare_cached(&format!(
        "SELECT prior_request_id FROM requests INDEXED BY {} WHERE id = ?1",
        index::REQUESTS_PK
    ))?;
    while chain.len() < MAX_DEPTH {
        let Some(current) = chain.last() else { break };
        let prior: Option<String> = prior_of
            .query_row([current], |row| row.get(0))
            .optional()?
            .flatten();
        match prior {
            Some(prior) if seen.insert(prior.clone()) => chain.push(prior),
            _ => break,
        }
    }
    if chain.len() == MAX_DEPTH {
        tracing::warn!(
            request_id,
            "request history is deeper than {MAX_DEPTH}; truncated"
        );
    }
    let mut messages = Vec::new();
    let mut oldest_first = chain.iter().rev().peekable();
    while let Some(id) = oldest_first.next() {
        messages.extend(new_messages(conn, id)?);
        if oldest_first.peek().is_some() {
            messages.extend(answer(conn, id)?);
        }
    }
    Ok(messages)
}

pub(crate) fn get_request(conn: &Connection, id: &str) -> Result<Option<RequestDetail>> {
    let Some(summary) = queries::get_request_summary(conn, id)? else {
        return Ok(None);
    };
    let bodies: Option<(String, Option<String>)> = conn
        .prepare_cached(&format!(
            "SELECT params, upstream_request FROM requests INDEXED BY {} WHERE id = ?1",
            index::REQUESTS_PK
        ))?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((params, upstream)) = bodies else {
        return Ok(None);
    };
    Ok(Some(RequestDetail {
        summary,
        params: assemble(params, shared_params(conn, id)?),
        upstream_request: upstream.map(parse_json),
        new_messages: new_messages(conn, id)?,
        messages: full_messages(conn, id)?,
    }))
}

/// The shared members of a request's parameters (migration 0009), by name: none for a
/// request recorded before it.
fn shared_params(conn: &Connection, request_id: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT l.name, s.content FROM request_shared_params l INDEXED BY {}
             CROSS JOIN shared_params s ON s.id = l.shared_id
         WHERE l.request_id = ?1 ORDER BY l.name",
        index::REQUEST_SHARED_PARAMS_PK
    ))?;
    let rows = stmt.query_map([request_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn transcript(conn: &Connection, session_id: &str) -> Result<Option<Transcript>> {
    let Some(session) = queries::get_session(conn, session_id)? else {
        return Ok(None);
    };
    let turns = session_turns(conn, session_id)?
        .into_iter()
        .map(|(turn, _prior)| turn)
        .collect();
    Ok(Some(Transcript { session, turns }))
}

/// A session's transcript and its conversation (as [`conversation`] rebuilds it), read in
/// one pass: three queries whatever the session's length, the history put together in
/// memory from the transcript's turns. `None` when the session does not exist.
pub(crate) fn session_export(conn: &Connection, session_id: &str) -> Result<Option<SessionExport>> {
    let Some(session) = queries::get_session(conn, session_id)? else {
        return Ok(None);
    };
    let rows = session_turns(conn, session_id)?;
    // The latest answered turn, else the latest turn; the rows are in request order.
    let last = rows
        .iter()
        .rposition(|(turn, _)| turn.status.as_deref() == Some("ok"))
        .map(|at| (at, true))
        .or_else(|| rows.len().checked_sub(1).map(|at| (at, false)));
    let conversation = match last {
        Some((at, answered)) => {
            let mut messages = history_in_memory(conn, &rows, at)?;
            if answered {
                messages.extend(turn_answer(&rows[at].0));
            }
            messages
        }
        None => Vec::new(),
    };
    let turns = rows.into_iter().map(|(turn, _prior)| turn).collect();
    Ok(Some(SessionExport {
        transcript: Transcript { session, turns },
        conversation,
    }))
}

/// The answer of a turn as the assistant message the client resends, when it has one.
fn turn_answer(turn: &Turn) -> Option<StoredMessage> {
    let content = turn.content.clone()?;
    Some(assistant(content, turn.tool_calls.clone()))
}

/// [`full_messages`] of the request of `rows[at]`, followed through the session's own
/// `rows`; only a prior request outside the session (never written by qwenctl itself, but
/// possible in a file edited by hand) is looked up in the database.
fn history_in_memory(
    conn: &Connection,
    rows: &[(Turn, Option<String>)],
    at: usize,
) -> Result<Vec<StoredMessage>> {
    let by_id: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (turn, _))| (turn.request_id.as_str(), i))
        .collect();
    let mut chain = vec![at];
    let mut seen: HashSet<&str> = HashSet::from([rows[at].0.request_id.as_str()]);
    let mut outside: Option<&str> = None;
    while chain.len() < MAX_DEPTH {
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
    if chain.len() == MAX_DEPTH {
        tracing::warn!(
            request_id = rows[at].0.request_id,
            "request history is deeper than {MAX_DEPTH}; truncated"
        );
    }
    let mut messages = Vec::new();
    if let Some(prior) = outside {
        messages = full_messages(conn, prior)?;
        messages.extend(answer(conn, prior)?);
    }
    let mut oldest_first = chain.iter().rev().peekable();
    while let Some(&i) = oldest_first.next() {
        let turn = &rows[i].0;
        messages.extend(turn.messages.iter().cloned());
        if oldest_first.peek().is_some() {
            messages.extend(turn_answer(turn));
        }
    }
    Ok(messages)
}

/// A session's turns in request order, each with the request it continued: two queries, one
/// for every message the session's requests added and one for the requests and answers.
fn session_turns(conn: &Connection, session_id: &str) -> Result<Vec<(Turn, Option<String>)>> {
    let mut by_request: HashMap<String, Vec<StoredMessage>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT rm.request_id, {MESSAGE_COLUMNS}
             FROM requests r INDEXED BY {}
             CROSS JOIN request_messages rm INDEXED BY {} ON rm.request_id = r.id
             CROSS JOIN messages m ON m.id = rm.message_id
             WHERE r.session_id = ?1 ORDER BY rm.request_id, rm.position",
            index::REQUESTS_SESSION,
            index::REQUEST_MESSAGES_PK
        ))?;
        let mut rows = stmt.query([session_id])?;
        while let Some(row) = rows.next()? {
            by_request
                .entry(row.get(0)?)
                .or_default()
                .push(message(row, 1)?);
        }
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.id, r.received_at, r.model, p.content, p.reasoning, p.status,
                p.finish_reason, p.prompt_tokens, p.completion_tokens, p.total_tokens,
                p.tool_calls, p.upstream_turns, r.prior_request_id
         FROM requests r INDEXED BY {}
              LEFT JOIN responses p INDEXED BY {} ON p.request_id = r.id
         WHERE r.session_id = ?1 ORDER BY r.received_at, r.rowid",
        index::REQUESTS_SESSION,
        index::RESPONSES_REQUEST
    ))?;
    let turns = stmt
        .query_map([session_id], |row| {
            let request_id: String = row.get(0)?;
            let turn = Turn {
                messages: by_request.remove(&request_id).unwrap_or_default(),
                request_id,
                received_at: row.get(1)?,
                model: row.get(2)?,
                content: row.get(3)?,
                reasoning: row.get(4)?,
                status: row.get(5)?,
                finish_reason: row.get(6)?,
                prompt_tokens: row.get(7)?,
                completion_tokens: row.get(8)?,
                total_tokens: row.get(9)?,
                tool_calls: decode_calls(row.get(10)?),
                upstream_turns: row.get::<_, Option<String>>(11)?.map(parse_json),
            };
            Ok((turn, row.get(12)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(turns)
}

/// The conversation of a session as one message list: the full history of its latest
/// successfully answered request followed by that answer. Without one, the latest request's
/// history alone; `None` when the session does not exist.
pub(crate) fn conversation(
    conn: &Connection,
    session_id: &str,
) -> Result<Option<Vec<StoredMessage>>> {
    let exists = conn
        .prepare_cached(&format!(
            "SELECT 1 FROM sessions INDEXED BY {} WHERE id = ?1",
            index::SESSIONS_PK
        ))?
        .exists([session_id])?;
    if !exists {
        return Ok(None);
    }
    let latest_ok: Option<(String, String, Option<String>)> = conn
        .prepare_cached(&format!(
            "SELECT r.id, p.content, p.tool_calls
             FROM requests r INDEXED BY {}
                  CROSS JOIN responses p INDEXED BY {} ON p.request_id = r.id
             WHERE r.session_id = ?1 AND p.status = 'ok'
             ORDER BY r.received_at DESC, r.rowid DESC LIMIT 1",
            index::REQUESTS_SESSION,
            index::RESPONSES_REQUEST
        ))?
        .query_row([session_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    if let Some((request_id, content, calls)) = latest_ok {
        let mut messages = full_messages(conn, &request_id)?;
        messages.push(assistant(content, decode_calls(calls)));
        return Ok(Some(messages));
    }
    let latest: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT id FROM requests INDEXED BY {} WHERE session_id = ?1
             ORDER BY received_at DESC, rowid DESC LIMIT 1",
            index::REQUESTS_SESSION
        ))?
        .query_row([session_id], |row| row.get(0))
        .optional()?;
    match latest {
        Some(request_id) => Ok(Some(full_messages(conn, &request_id)?)),
        None => Ok(Some(Vec::new())),
    }
}
