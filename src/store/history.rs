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
use super::queries;
use super::{RequestDetail, Result, StoredMessage, StoredToolCall, Transcript, Turn};

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
        "SELECT {MESSAGE_COLUMNS} FROM request_messages rm JOIN messages m ON m.id = rm.message_id
         WHERE rm.request_id = ?1 ORDER BY rm.position"
    ))?;
    let rows = stmt.query_map([request_id], |row| message(row, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The assistant answer recorded for a request, with its tool calls, if any.
fn answer(conn: &Connection, request_id: &str) -> Result<Option<StoredMessage>> {
    let found: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT content, tool_calls FROM responses WHERE request_id = ?1")?
        .query_row([request_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(found.map(|(content, calls)| assistant(content, decode_calls(calls))))
}

/// The full message list the client sent with `request_id`.
pub(crate) fn full_messages(conn: &Connection, request_id: &str) -> Result<Vec<StoredMessage>> {
    let mut chain = vec![request_id.to_owned()];
    let mut seen: HashSet<String> = chain.iter().cloned().collect();
    let mut prior_of =
        conn.prepare_cached("SELECT prior_request_id FROM requests WHERE id = ?1")?;
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
        .prepare_cached("SELECT params, upstream_request FROM requests WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((params, upstream)) = bodies else {
        return Ok(None);
    };
    Ok(Some(RequestDetail {
        summary,
        params: parse_json(params),
        upstream_request: upstream.map(parse_json),
        new_messages: new_messages(conn, id)?,
        messages: full_messages(conn, id)?,
    }))
}

pub(crate) fn transcript(conn: &Connection, session_id: &str) -> Result<Option<Transcript>> {
    let Some(session) = queries::get_session(conn, session_id)? else {
        return Ok(None);
    };
    let mut by_request: HashMap<String, Vec<StoredMessage>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT rm.request_id, {MESSAGE_COLUMNS}
             FROM requests r
             JOIN request_messages rm ON rm.request_id = r.id
             JOIN messages m ON m.id = rm.message_id
             WHERE r.session_id = ?1 ORDER BY rm.request_id, rm.position"
        ))?;
        let mut rows = stmt.query([session_id])?;
        while let Some(row) = rows.next()? {
            by_request
                .entry(row.get(0)?)
                .or_default()
                .push(message(row, 1)?);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.received_at, r.model, p.content, p.reasoning, p.status,
                p.finish_reason, p.prompt_tokens, p.completion_tokens, p.total_tokens,
                p.tool_calls, p.upstream_turns
         FROM requests r LEFT JOIN responses p ON p.request_id = r.id
         WHERE r.session_id = ?1 ORDER BY r.received_at, r.rowid",
    )?;
    let turns = stmt
        .query_map([session_id], |row| {
            let request_id: String = row.get(0)?;
            Ok(Turn {
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
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Transcript { session, turns }))
}

/// The conversation of a session as one message list: the full history of its latest
/// successfully answered request followed by that answer. Without one, the latest request's
/// history alone; `None` when the session does not exist.
pub(crate) fn conversation(
    conn: &Connection,
    session_id: &str,
) -> Result<Option<Vec<StoredMessage>>> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists([session_id])?;
    if !exists {
        return Ok(None);
    }
    let latest_ok: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT r.id, p.content, p.tool_calls
             FROM requests r JOIN responses p ON p.request_id = r.id
             WHERE r.session_id = ?1 AND p.status = 'ok'
             ORDER BY r.received_at DESC, r.rowid DESC LIMIT 1",
        )?
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
        .prepare_cached(
            "SELECT id FROM requests WHERE session_id = ?1
             ORDER BY received_at DESC, rowid DESC LIMIT 1",
        )?
        .query_row([session_id], |row| row.get(0))
        .optional()?;
    match latest {
        Some(request_id) => Ok(Some(full_messages(conn, &request_id)?)),
        None => Ok(Some(Vec::new())),
    }
}
