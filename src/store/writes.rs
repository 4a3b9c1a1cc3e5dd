//! The SQL of every write, run by the writer thread inside its group transaction.
//!
//! Kept apart from the thread machinery in `writer` so each op reads as plain SQL. Statements
//! are prepared through the connection's cache because the same few run thousands of times.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::encode_calls;
use super::params::SharedParam;
use super::{ConvNode, Fingerprint, NewRequest, NewResponse, NewSession, StoredMessage};

pub(crate) fn insert_session(conn: &Connection, s: &NewSession) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, chat_id, model, title, source, created_at, updated_at,
             api_key_id, account)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.id,
        s.chat_id,
        s.model,
        s.title,
        s.source,
        s.created_at,
        s.api_key_id,
        s.account
    ])?;
    Ok(())
}

/// Moves `updated_at` forward only: ops from concurrent requests may arrive out of order.
pub(crate) fn touch_session(conn: &Connection, id: &str, at_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET updated_at = max(updated_at, ?2) WHERE id = ?1")?
        .execute(params![id, at_ms])?;
    Ok(())
}

pub(crate) fn insert_request(conn: &Connection, r: &NewRequest) -> rusqlite::Result<()> {
    // The sub-select records an unknown (e.g. just deleted) session as none instead of
    // failing the foreign key and losing the request.
    conn.prepare_cached(
        "INSERT INTO requests (id, session_id, endpoint, model, stream, api_key_id,
             prior_request_id, message_count, params, upstream_request, chat_id, parent_id,
             received_at, client_request_id, account)
         VALUES (?1, (SELECT id FROM sessions WHERE id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
             ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        r.id,
        r.session_id,
        r.endpoint,
        r.model,
        r.stream,
        r.api_key_id,
        r.prior_request_id,
        r.message_count,
        r.params.inline(),
        r.upstream_request.as_ref().map(ToString::to_string),
        r.chat_id,
        r.parent_id,
        r.received_at,
        r.client_request_id,
        r.account,
    ])?;
    let mut link = conn.prepare_cached(
        "INSERT INTO request_messages (request_id, position, message_id) VALUES (?1, ?2, ?3)",
    )?;
    for (position, message) in (0_i64..).zip(&r.new_messages) {
        let message_id = intern_message(conn, message)?;
        link.execute(params![r.id, position, message_id])?;
    }
    if !r.params.shared().is_empty() {
        let mut link = conn.prepare_cached(
            "INSERT INTO request_shared_params (request_id, name, shared_id) VALUES (?1, ?2, ?3)",
        )?;
        for shared in r.params.shared() {
            let shared_id = intern_shared(conn, shared)?;
            link.execute(params![r.id, shared.name, shared_id])?;
        }
    }
    if let Some(session) = &r.session_id {
        touch_session(conn, session, r.received_at)?;
    }
    Ok(())
}

/// The id of the row holding `message`, inserting it if it is new. A row is reused only when
/// every column matches (`IS`, so NULL equals NULL): two assistant messages with the same
/// (empty) text but different tool calls are different rows.
fn intern_message(conn: &Connection, message: &StoredMessage) -> rusqlite::Result<i64> {
    let tool_calls = encode_calls(&message.tool_calls);
    let hash = message_hash(message, tool_calls.as_deref());
    let existing = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE content_hash = ?1 AND role = ?2 AND content = ?3
                 AND tool_calls IS ?4 AND tool_call_id IS ?5 AND name IS ?6",
        )?
        .query_row(
            params![
                hash,
                message.role,
                message.content,
                tool_calls,
                message.tool_call_id,
                message.name
            ],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO messages (content_hash, role, content, tool_calls, tool_call_id, name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        hash,
        message.role,
        message.content,
        tool_calls,
        message.tool_call_id,
        message.name
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The id of the `shared_params` row holding `shared`'s text, inserting it if it is new
/// (migration 0009). The hash narrows the lookup; the text decides.
fn intern_shared(conn: &Connection, shared: &SharedParam) -> rusqlite::Result<i64> {
    let existing = conn
        .prepare_cached("SELECT id FROM shared_params WHERE content_hash = ?1 AND content = ?2")?
        .query_row(params![shared.hash, shared.content], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO shared_params (content_hash, content) VALUES (?1, ?2)")?
        .execute(params![shared.hash, shared.content])?;
    Ok(conn.last_insert_rowid())
}

/// FNV-1a 64 over `role`, a zero byte and `content`, as a signed integer for SQLite.
///
/// Spelled out here rather than taken from a crate so the stored value can never change
/// with a dependency upgrade; it only narrows the search, the content decides.
pub(crate) fn content_hash(role: &str, content: &str) -> i64 {
    fnv1a(role.bytes().chain([0]).chain(content.bytes()))
}

/// The `content_hash` of a stored message: [`content_hash`] of its role and text, and for a
/// message with a tool column (calls, a call id, a name) those too.
///
/// Without them every assistant message that only calls tools (empty text) and every equal
/// tool result of different calls shared one hash, so looking one up compared the text of
/// all the others: at 1,000 agent sessions the writer spent its time in that scan. A
/// message without tool columns hashes exactly as before; one with them, written before
/// this, is simply not found by the new hash and stored again (the content decides, the
/// hash only narrows the search).
pub(crate) fn message_hash(message: &StoredMessage, encoded_calls: Option<&str>) -> i64 {
    if encoded_calls.is_none() && message.tool_call_id.is_none() && message.name.is_none() {
        return content_hash(&message.role, &message.content);
    }
    fnv1a(
        message
            .role
            .bytes()
            .chain([0])
            .chain(message.content.bytes())
            .chain([0, 0xff])
            .chain(optional(encoded_calls))
            .chain(optional(message.tool_call_id.as_deref()))
            .chain(optional(message.name.as_deref())),
    )
}

/// An optional column's bytes for [`message_hash`]: a presence byte, its text and a
/// terminator, so `None` and `""` differ.
fn optional(value: Option<&str>) -> impl Iterator<Item = u8> + '_ {
    let (present, text) = value.map_or((0_u8, ""), |t| (1, t));
    std::iter::once(present).chain(text.bytes()).chain([0])
}

/// FNV-1a 64 over `text` (a shared parameter's JSON text), like [`content_hash`].
pub(crate) fn text_hash(text: &str) -> i64 {
    fnv1a(text.bytes())
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Records a response; a second one for the same request replaces the first, so a request
/// always shows its latest outcome.
pub(crate) fn insert_response(conn: &Connection, r: &NewResponse) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO responses (id, request_id, session_id, response_id, status,
             error_kind, error_message, content, reasoning, finish_reason, prompt_tokens,
             completion_tokens, reasoning_tokens, total_tokens, upstream_first_byte_ms,
             first_token_ms, duration_ms, created_at, tool_calls, upstream_turns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)",
    )?
    .execute(params![
        r.id,
        r.request_id,
        r.session_id,
        r.response_id,
        r.status,
        r.error_kind,
        r.error_message,
        r.content,
        r.reasoning,
        r.finish_reason,
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
    ])?;
    if let Some(session) = &r.session_id {
        touch_session(conn, session, r.created_at)?;
    }
    Ok(())
}

pub(crate) fn upsert_node(conn: &Connection, n: &ConvNode) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO conversation_nodes (fingerprint, session_id, chat_id, response_id, model,
             request_id, message_count, last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (fingerprint) DO UPDATE SET
             session_id = excluded.session_id, chat_id = excluded.chat_id,
             response_id = excluded.response_id, model = excluded.model,
             request_id = excluded.request_id, message_count = excluded.message_count,
             last_used_at = excluded.last_used_at",
    )?
    .execute(params![
        &n.fingerprint[..],
        n.session_id,
        n.chat_id,
        n.response_id,
        n.model,
        n.request_id,
        n.message_count,
        n.last_used_at,
    ])?;
    Ok(())
}

pub(crate) fn touch_node(conn: &Connection, fp: &Fingerprint, at_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE conversation_nodes SET last_used_at = max(last_used_at, ?2)
         WHERE fingerprint = ?1",
    )?
    .execute(params![&fp[..], at_ms])?;
    Ok(())
}

/// Deletes a session; its requests, responses and nodes go with it (foreign keys cascade).
/// Messages stay: another session may share them, and `prune` collects the orphans.
pub(crate) fn delete_session(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE id = ?1")?
        .execute([id])?;
    Ok(n > 0)
}

/// Withdraws a stored response from the Responses API (migration 0003); whether it was there
/// to withdraw.
pub(crate) fn withdraw_response(conn: &Connection, id: &str, at_ms: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE responses SET withdrawn_at = ?2 WHERE id = ?1 AND withdrawn_at IS NULL",
        )?
        .execute(params![id, at_ms])?;
    Ok(n > 0)
}

/// Removes what is older than `older_than_ms`: sessions not updated since (with everything
/// in them) and requests outside any session received before it. Requests of a session that
/// is still in use are kept even when old, because later requests rebuild their history
/// through them. Messages and shared parameters no request refers to any more go too.
/// Returns the number of sessions and requests removed.
pub(crate) fn prune(conn: &Connection, older_than_ms: i64) -> rusqlite::Result<u64> {
    let sessions = conn.execute(
        "DELETE FROM sessions WHERE updated_at < ?1",
        [older_than_ms],
    )?;
    let requests = conn.execute(
        "DELETE FROM requests WHERE session_id IS NULL AND received_at < ?1",
        [older_than_ms],
    )?;
    conn.execute(
        "DELETE FROM messages
         WHERE NOT EXISTS (SELECT 1 FROM request_messages rm WHERE rm.message_id = messages.id)",
        [],
    )?;
    conn.execute(
        "DELETE FROM shared_params
         WHERE NOT EXISTS (SELECT 1 FROM request_shared_params l
                           WHERE l.shared_id = shared_params.id)",
        [],
    )?;
    Ok(u64::try_from(sessions + requests).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::{StoredMessage, content_hash, message_hash, text_hash};

    #[test]
    fn content_hash_is_stable_and_role_sensitive() {
        // FNV-1a 64 of the single byte 0x00 (empty role, empty content).
        assert_eq!(
            content_hash("", ""),
            i64::from_ne_bytes(0xaf63_bd4c_8601_b7df_u64.to_ne_bytes())
        );
        assert_ne!(content_hash("user", "hi"), content_hash("assistant", "hi"));
        assert_ne!(content_hash("us", "erhi"), content_hash("user", "hi"));
    }

    #[test]
    fn a_message_hash_covers_its_tool_columns_and_is_unchanged_without_them() {
        let message = |content: &str, call_id: Option<&str>, name: Option<&str>| StoredMessage {
            role: "tool".into(),
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: call_id.map(str::to_owned),
            name: name.map(str::to_owned),
        };
        let plain = message("output", None, None);
        assert_eq!(message_hash(&plain, None), content_hash("tool", "output"));
        let a = message_hash(&message("output", Some("call_a"), None), None);
        let b = message_hash(&message("output", Some("call_b"), None), None);
        assert_ne!(a, b, "equal results of different calls");
        assert_ne!(a, content_hash("tool", "output"));
        assert_ne!(
            message_hash(&message("output", Some(""), None), None),
            message_hash(&message("output", None, Some("")), None),
            "which column is set matters"
        );
        let calls = |json: &str| message_hash(&message("", None, None), Some(json));
        assert_ne!(calls(r#"[{"id":"1"}]"#), calls(r#"[{"id":"2"}]"#));
    }

    #[test]
    fn text_hash_is_fnv1a_of_the_text() {
        // The FNV-1a 64 offset basis (no bytes), and the published value for "a".
        assert_eq!(
            text_hash(""),
            i64::from_ne_bytes(0xcbf2_9ce4_8422_2325_u64.to_ne_bytes())
        );
        assert_eq!(
            text_hash("a"),
            i64::from_ne_bytes(0xaf63_dc4c_8601_ec8c_u64.to_ne_bytes())
        );
    }
}
