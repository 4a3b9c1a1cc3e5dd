//! A request's parameters through the store (migration 0009): large members such as an
//! agent's tool set are stored once however many requests send them, every request reads
//! back exactly the parameters it was recorded with, and rows written before the split
//! (their parameters whole) read as they did.

use serde_json::{Value, json};

use super::*;

/// The 20 tools of the agent benchmark's requests (`crate::perf::tool`, ~25 KB of JSON), as
/// a chat-completions `tools` array.
fn tools() -> Value {
    (0..20)
        .map(|i| {
            let (name, description, parameters) = crate::perf::tool(i);
            json!({"type": "function", "function": {
                "name": name, "description": description, "parameters": parameters}})
        })
        .collect()
}

/// An agent turn's parameters, as each wire format records them.
fn agent_params() -> Vec<Value> {
    let anthropic_tools: Value = (0..20)
        .map(|i| {
            let (name, description, schema) = crate::perf::tool(i);
            json!({"name": name, "description": description, "input_schema": schema})
        })
        .collect();
    vec![
        json!({"model": "qwen3-max", "stream": true, "temperature": 0.2, "tools": tools(),
               "tool_choice": "auto", "stream_options": {"include_usage": true}}),
        json!({"model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
               "tools": anthropic_tools, "metadata": {"user_id": "u-1"}}),
        json!({"model": "gpt-5-codex", "stream": true, "store": false,
               "instructions": "You are Codex. ".repeat(400), "tools": tools(),
               "reasoning": {"effort": "medium"}, "include": ["reasoning.encrypted_content"]}),
        json!({"model": "gpt-4", "functions": tools(), "max_tokens": 10}),
        json!({"model": "qwen3-max", "temperature": 0.5}),
        json!("an excerpt of a body that was not JSON {"),
    ]
}

/// A request of session `s` carrying `params`.
fn with_params(id: &str, s: &str, params: Value, at: i64) -> NewRequest {
    NewRequest {
        params: params.into(),
        ..request(id, Some(s), None, vec![msg("user", id)], at)
    }
}

on_both_backends! {
    #[tokio::test]
    async fn params_read_back_as_they_were_written(backend) {
        let (_keep, store) = store_on(&backend).await;
        store.create_session(session("s", "qwen3-max", 0)).await.unwrap();
        let written = agent_params();
        for (i, params) in written.iter().enumerate() {
            let id = format!("r{i}");
            store
                .record_request(with_params(&id, "s", params.clone(), i as i64))
                .await
                .unwrap();
        }
        // A request outside any session, as a refused body is recorded.
        store
            .record_request(NewRequest {
                params: json!({"model": "x", "tools": tools()}).into(),
                ..request("refused", None, None, vec![], 99)
            })
            .await
            .unwrap();
        store.flush().await.unwrap();
        for (i, params) in written.iter().enumerate() {
            let detail = store.get_request(&format!("r{i}")).await.unwrap().unwrap();
            assert_eq!(&detail.params, params, "r{i}");
        }
        let refused = store.get_request("refused").await.unwrap().unwrap();
        assert_eq!(refused.params, json!({"model": "x", "tools": tools()}));
        // The chat and the legacy `functions` body share one text; the Anthropic tools,
        // the instructions are one each.
        assert_eq!(count_committed(&store, "shared_params").await, 3);
        assert_eq!(count_committed(&store, "request_shared_params").await, 6);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn rows_written_before_the_split_read_the_same(backend) {
        let (_keep, store) = store_on(&backend).await;
        store.create_session(session("s", "qwen3-max", 0)).await.unwrap();
        let params = json!({"model": "qwen3-max", "tools": tools(), "temperature": 0.1});
        store
            .record_request(with_params("old", "s", json!({}), 1))
            .await
            .unwrap();
        store
            .record_request(with_params("new", "s", params.clone(), 2))
            .await
            .unwrap();
        store.flush().await.unwrap();
        // `old` as a qwenctl before migration 0009 wrote it: everything in `params`.
        let sql = "UPDATE requests SET params = $1 WHERE id = 'old'";
        if let Some(pg) = store.postgres() {
            let client = pg.pool().get().await.unwrap();
            client.execute(sql, &[&params.to_string()]).await.unwrap();
        } else {
            let conn = rusqlite::Connection::open(store.path().unwrap()).unwrap();
            conn.execute(&sql.replace('$', "?"), [params.to_string()]).unwrap();
        }
        let old = store.get_request("old").await.unwrap().unwrap();
        let new = store.get_request("new").await.unwrap().unwrap();
        assert_eq!(old.params, params);
        assert_eq!(new.params, params);
        assert_eq!(count_committed(&store, "request_shared_params").await, 1);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn pruning_drops_the_shared_params_no_request_links(backend) {
        let (_keep, store) = store_on(&backend).await;
        store.create_session(session("gone", "qwen3-max", 0)).await.unwrap();
        store.create_session(session("kept", "qwen3-max", 5_000)).await.unwrap();
        let mine = json!({"model": "m", "tools": tools(), "instructions": "old ".repeat(300)});
        let shared = json!({"model": "m", "tools": tools()});
        store.record_request(with_params("g1", "gone", mine, 10)).await.unwrap();
        store.record_request(with_params("k1", "kept", shared.clone(), 5_000)).await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(count_committed(&store, "shared_params").await, 2);
        store.delete_session("gone").await.unwrap();
        // Deleting keeps the values, as it keeps messages; pruning collects them.
        assert_eq!(count_committed(&store, "shared_params").await, 2);
        store.prune(1_000).await.unwrap();
        assert_eq!(count_committed(&store, "shared_params").await, 1);
        let kept = store.get_request("k1").await.unwrap().unwrap();
        assert_eq!(kept.params, shared);
    }
}

/// The used size of the file, WAL included: `(page_count - freelist_count) × page_size`
/// through a connection of its own, which sees what the writer committed.
fn used_bytes(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT (page_count - freelist_count) * page_size
         FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Bytes of the pages of `table` and its indexes (`dbstat`).
fn table_bytes(path: &std::path::Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name
         WHERE s.tbl_name = ?1",
        [table],
        |r| r.get(0),
    )
    .unwrap()
}

/// 50 turns of an agent that sends the same 20 tools every time: the tool set is stored
/// once, and a turn costs the database far less than the tool set (it cost the whole set
/// again, ~25 KB, while `params` kept it).
#[allow(clippy::print_stderr)] // The figures, for `--nocapture`.
#[tokio::test]
async fn fifty_requests_with_the_same_tools_store_them_once() {
    let (dir, store) = temp_store();
    let path = dir.path().join("nested/dir/qwen_proxy.db");
    let tool_text = tools().to_string();
    assert!(tool_text.len() > 20_000, "{}", tool_text.len());
    store
        .create_session(session("agent", "qwen3-max", 0))
        .await
        .unwrap();
    let turn = |t: i64| NewRequest {
        params: json!({"model": "qwen3-max", "stream": true, "tools": tools()}).into(),
        prior_request_id: (t > 0).then(|| format!("r{}", t - 1)),
        ..request(
            &format!("r{t}"),
            Some("agent"),
            None,
            vec![msg("tool", &format!("result {t}"))],
            t,
        )
    };
    store.record_request(turn(0)).await.unwrap();
    store.flush().await.unwrap();
    let after_first = used_bytes(&path);
    for t in 1..50 {
        store.record_request(turn(t)).await.unwrap();
    }
    store.flush().await.unwrap();
    let per_request = (used_bytes(&path) - after_first) / 49;

    let stored: Vec<String> = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn.prepare("SELECT content FROM shared_params").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(
        stored,
        std::slice::from_ref(&tool_text),
        "the tool set, once"
    );
    assert_eq!(count_committed(&store, "request_shared_params").await, 50);
    let tool_set_bytes = i64::try_from(tool_text.len()).unwrap();
    assert!(
        table_bytes(&path, "shared_params") < 2 * tool_set_bytes,
        "shared_params holds {} bytes for a {tool_set_bytes}-byte tool set",
        table_bytes(&path, "shared_params")
    );
    eprintln!(
        "{per_request} bytes per request; the tool set is {tool_set_bytes} bytes, \
         shared_params {} bytes",
        table_bytes(&path, "shared_params")
    );
    assert!(
        per_request < 4096,
        "{per_request} bytes per request for a {tool_set_bytes}-byte tool set"
    );
    let detail = store.get_request("r49").await.unwrap().unwrap();
    assert_eq!(detail.params["tools"], tools());
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
}

/// Writes at `path` a file of the schema before migration 0009 holding session `s` with
/// one request `old` whose `params` text is `params` whole, as qwenctl wrote it then.
fn file_before_the_split(path: &std::path::Path, params: &Value) {
    let migrations = crate::store::migrations::MIGRATIONS;
    let split = migrations
        .iter()
        .position(|sql| sql.contains("CREATE TABLE shared_params"))
        .unwrap();
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for sql in &migrations[..split] {
        tx.execute_batch(sql).unwrap();
    }
    tx.pragma_update(None, "user_version", split as i64)
        .unwrap();
    crate::store::writes::insert_session(&tx, &session("s", "qwen3-max", 1)).unwrap();
    let old = request("old", Some("s"), None, vec![msg("user", "hi")], 1);
    crate::store::writes::insert_request(&tx, &old).unwrap();
    tx.execute(
        "UPDATE requests SET params = ?1 WHERE id = 'old'",
        [params.to_string()],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// A file written before migration 0009, its requests' tools inline: opened, it is
/// migrated without touching them and reads the same, and new rows share their tools; read
/// only (through a migrated copy in memory), it reads the same too.
#[tokio::test]
async fn a_file_from_before_the_split_is_migrated_and_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let params = json!({"model": "qwen3-max", "tools": tools()});

    let path = dir.path().join("read-only.db");
    file_before_the_split(&path, &params);
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(
        reader.get_request("old").await.unwrap().unwrap().params,
        params
    );
    drop(reader);

    let path = dir.path().join("old.db");
    file_before_the_split(&path, &params);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version(),
        crate::store::migrations::latest_version()
    );
    assert_eq!(
        count_committed(&store, "shared_params").await,
        0,
        "nothing moved"
    );
    let old = store.get_request("old").await.unwrap().unwrap();
    assert_eq!(old.params, params);
    store
        .record_request(with_params("new", "s", params.clone(), 2))
        .await
        .unwrap();
    store.flush().await.unwrap();
    let new = store.get_request("new").await.unwrap().unwrap();
    assert_eq!(new.params, params);
    assert_eq!(count_committed(&store, "shared_params").await, 1);
}
