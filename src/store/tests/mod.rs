//! Tests of the store through its public API, on temporary files and in memory.
//!
//! `writes` covers the writer (ordering, group commit, durability, errors), `reads` the
//! queries and reconstructions, `tools` what tool calls add to both, `params` how a
//! request's parameters are kept (large members once), `plans` the query plans
//! of every read on a grown store, `postgres` what only the PostgreSQL store has. The
//! helpers build rows with fixed timestamps so order and filters are deterministic.
//!
//! The tests of what both backends promise run twice, on SQLite and on PostgreSQL
//! ([`on_both_backends!`]); each PostgreSQL run gets a schema of its own in the server that
//! `QWENCTL_TEST_PG_URL` names (scripts/pg.sh starts one). Without that variable the
//! PostgreSQL runs say they are skipped and pass, unless `QWENCTL_REQUIRE_PG=1` (set by
//! scripts/test.sh), which makes them fail.

mod params;
pub(super) mod plans;
mod postgres;
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
        params: serde_json::json!({"model": "qwen3-max", "temperature": 0.5}).into(),
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
pub(super) async fn count_committed(store: &Store, table: &str) -> i64 {
    if let Some(pg) = store.postgres() {
        let client = pg.pool().get().await.expect("connection");
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("count");
        return row.get(0);
    }
    let path = store.path().expect("file store");
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// The backend a test of both runs on.
pub(super) enum Backend {
    Sqlite,
    /// The test server's URL (`QWENCTL_TEST_PG_URL`).
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL test server, or `None` (with a notice) when there is none and none is
    /// required.
    pub(super) fn postgres(test: &str) -> Option<Backend> {
        match std::env::var("QWENCTL_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var("QWENCTL_REQUIRE_PG").as_deref() == Ok("1") => {
                panic!("QWENCTL_REQUIRE_PG=1 but QWENCTL_TEST_PG_URL is not set")
            }
            _ => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "skipped {test} on PostgreSQL: QWENCTL_TEST_PG_URL is not set \
                         (scripts/pg.sh starts a server)"
                    );
                }
                None
            }
        }
    }
}

/// What keeps a test's database alive: its directory, or nothing for a PostgreSQL schema
/// (the test server is thrown away whole).
pub(super) type Keep = Option<tempfile::TempDir>;

/// A fresh store on `backend`: a file in a temporary directory, or a schema of its own in
/// the PostgreSQL test server.
pub(super) async fn store_on(backend: &Backend) -> (Keep, Store) {
    match backend {
        Backend::Sqlite => {
            let (dir, store) = temp_store();
            (Some(dir), store)
        }
        Backend::Postgres(url) => {
            let url = fresh_schema(url).await;
            (None, Store::connect(&url).await.expect("connect"))
        }
    }
}

/// Creates an empty schema in the server at `url` and returns a URL whose connections use
/// it (`search_path`), so tests running at once never see each other's rows.
pub(super) async fn fresh_schema(url: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the PostgreSQL test server");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    drop(client);
    let _ = driver.await;
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Defines a test that runs on SQLite and on PostgreSQL: a module named after the test
/// with one test per backend, each running `$body` with `$backend` bound to its
/// [`Backend`].
macro_rules! on_both_backends {
    ($(#[$attr:meta])* async fn $name:ident($backend:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            async fn sqlite() {
                let $backend = $crate::store::tests::Backend::Sqlite;
                $body
            }

            $(#[$attr])*
            async fn postgres() {
                let Some($backend) =
                    $crate::store::tests::Backend::postgres(concat!(module_path!()))
                else {
                    return;
                };
                $body
            }
        }
    };
}
pub(super) use on_both_backends;
