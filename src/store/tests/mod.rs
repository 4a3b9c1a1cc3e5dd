//! Tests of the store through its public API, on temporary files and in memory.
//!
//! `writes` covers the writer (ordering, group commit, durability, errors), `reads` the
//! queries and reconstructions, `tools` what tool calls add to both, `plans` the query plans
//! of every read on a grown store. The helpers build rows
//! with fixed timestamps so order and filters are deterministic.

pub(super) mod plans;
mod read_only;
mod reads;
mod search;
mod tools;
mod wal;
mod writes;

use super::*;

pub(super) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("nested/dir/qwen_proxy.db")).expect("open store");
    (dir, store)
}

pub(super) fn msg(role: &str, content: &str) -> StoredMessage {
    StoredMessage::text(role, content)
}

pub(super) fn session(id: &str, model: &str, at: i64) -> NewSession {
    NewSession {
        account: None,
        id: id.to_owned(),
        chat_id: format!("chat-{id}"),
        model: model.to_owned(),
        title: format!("title of {id}"),
        source: "serve".to_owned(),
        api_key_id: None,
        created_at: at,
    }
}

pub(super) fn request(
    id: &str,
    session: Option<&str>,
    prior: Option<&str>,
    new_messages: Vec<StoredMessage>,
    at: i64,
) -> NewRequest {
    NewRequest {
        account: None,
        id: id.to_owned(),
        session_id: session.map(str::to_owned),
        endpoint: "chat.completions".to_owned(),
        model: "qwen3-max".to_owned(),
        stream: true,
        api_key_id: Some("key-1".to_owned()),
        client_request_id: None,
        prior_request_id: prior.map(str::to_owned),
        message_count: i64::try_from(new_messages.len()).unwrap_or(0),
        new_messages,
        params: serde_json::json!({"model": "qwen3-max", "temperature": 0.5}),
        upstream_request: Some(serde_json::json!({"chat_id": "c", "messages": []})),
        chat_id: session.map(|s| format!("chat-{s}")),
        parent_id: None,
        received_at: at,
    }
}

pub(super) fn response(id: &str, request_id: &str, session: Option<&str>, at: i64) -> NewResponse {
    NewResponse {
        id: id.to_owned(),
        request_id: request_id.to_owned(),
        session_id: session.map(str::to_owned),
        response_id: Some(format!("resp-{id}")),
        status: "ok".to_owned(),
        content: format!("answer {id}"),
        reasoning: String::new(),
        finish_reason: Some("stop".to_owned()),
        prompt_tokens: 10,
        completion_tokens: 5,
        reasoning_tokens: 1,
        upstream_first_byte_ms: Some(50),
        first_token_ms: Some(100),
        duration_ms: 400,
        created_at: at + 1,
        ..NewResponse::default()
    }
}

pub(super) fn node(fp: u8, session: &str, count: i64, at: i64) -> ConvNode {
    ConvNode {
        account: None,
        fingerprint: [fp; 16],
        session_id: session.to_owned(),
        chat_id: format!("chat-{session}"),
        response_id: format!("resp-{fp}"),
        model: "qwen3-max".to_owned(),
        request_id: None,
        message_count: count,
        last_used_at: at,
    }
}

/// Counts rows through a separate connection, which sees only committed data.
pub(super) fn count_committed(store: &Store, table: &str) -> i64 {
    let path = store.path().expect("file store");
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}
