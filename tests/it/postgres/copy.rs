//! `qwenctl db copy`: a file of 10,000 exchanges into PostgreSQL, every row there and the
//! bodies as they were (tool sets stored once, and rows written before they were, with
//! their tools inline); a second run copies nothing and a partial target is completed.

use qwenctl::store::{NewRequest, NewResponse, NewSession, Store, StoredMessage};

use super::{fresh_schema, query, server_url};
use crate::common::{qwenctl, run, stderr, stdout};

const SESSIONS: usize = 1000;
const TURNS: usize = 10;

/// An agent's tool set: 20 tools of ~1.2 KB, sent by every other session on every turn.
fn tools() -> serde_json::Value {
    (0..20)
        .map(|i| {
            serde_json::json!({"type": "function", "function": {
                "name": format!("tool_{i}"),
                "description": format!("Tool {i}: {}", "does something useful. ".repeat(40)),
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
            }})
        })
        .collect()
}

/// The parameters of session `s`'s requests: every other session declares the tool set.
fn params(s: usize) -> serde_json::Value {
    let mut params = serde_json::json!({"model": "qwen3-max", "temperature": 0.2});
    if s.is_multiple_of(2) {
        params["tools"] = tools();
    }
    params
}

/// An SQLite archive of `SESSIONS` conversations of `TURNS` exchanges, recorded as `serve`
/// records them (each request stores its new message and points at the one before).
async fn archive(path: &std::path::Path) {
    let store = Store::open(path).expect("open");
    for s in 0..SESSIONS {
        let session = format!("s{s:04}");
        let at = 1_700_000_000_000 + (s * 100_000) as i64;
        store
            .create_session(NewSession {
                id: session.clone(),
                chat_id: format!("chat-{s}"),
                model: "qwen3-max".to_owned(),
                title: format!("conversation {s}"),
                source: "serve".to_owned(),
                api_key_id: (s % 3 == 0).then(|| "key-1".to_owned()),
                account: Some(if s % 2 == 0 { "alice" } else { "bob" }.to_owned()),
                created_at: at,
            })
            .await
            .unwrap();
        let mut prior: Option<String> = None;
        for t in 0..TURNS {
            let id = format!("r{s:04}-{t:02}");
            let when = at + (t * 1000) as i64;
            store
                .record_request(NewRequest {
                    id: id.clone(),
                    session_id: Some(session.clone()),
                    endpoint: "chat.completions".to_owned(),
                    model: "qwen3-max".to_owned(),
                    stream: t % 2 == 0,
                    api_key_id: None,
                    client_request_id: None,
                    prior_request_id: prior.clone(),
                    message_count: (2 * t + 1) as i64,
                    new_messages: vec![StoredMessage::text(
                        "user",
                        format!("question {t} of {s}: {}", "words ".repeat(t)),
                    )],
                    params: params(s).into(),
                    upstream_request: Some(serde_json::json!({"chat_id": format!("chat-{s}")})),
                    chat_id: Some(format!("chat-{s}")),
                    parent_id: None,
                    account: (t % 4 != 3).then(|| "alice".to_owned()),
                    received_at: when,
                })
                .await
                .unwrap();
            store
                .record_response(NewResponse {
                    id: format!("p{s:04}-{t:02}"),
                    request_id: id.clone(),
                    session_id: Some(session.clone()),
                    response_id: Some(format!("resp-{s}-{t}")),
                    status: if t == 9 && s % 20 == 0 { "error" } else { "ok" }.to_owned(),
                    content: format!("answer {t} of {s} ✓"),
                    reasoning: if s % 3 == 0 {
                        "thinking…".to_owned()
                    } else {
                        String::new()
                    },
                    prompt_tokens: 10 + t as i64,
                    completion_tokens: 5,
                    duration_ms: 100 + t as i64,
                    first_token_ms: Some(20),
                    created_at: when + 500,
                    ..NewResponse::default()
                })
                .await
                .unwrap();
            prior = Some(id);
        }
    }
    store.flush().await.unwrap();
    drop(store);
    // Session 1's requests as a qwenctl before migration 0009 wrote them: the tool set
    // inline in `params`, nothing shared.
    let mut old = params(0);
    old["temperature"] = serde_json::json!(0.3);
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "UPDATE requests SET params = ?1 WHERE session_id = 's0001'",
            [old.to_string()],
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copy_of_ten_thousand_exchanges_is_complete_and_identical() {
    let Some(server) = server_url("a_copy_of_ten_thousand_exchanges") else {
        return;
    };
    let url = fresh_schema(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archive.db");
    archive(&file).await;

    let copy = || {
        let mut cmd = qwenctl(dir.path());
        cmd.arg("--database")
            .arg(&file)
            .args(["db", "copy", "--to", &url]);
        cmd
    };
    let out = run(copy(), None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("requests           10000 in the file, 10000 copied"),
        "{report}"
    );
    assert!(report.contains("every row is there"), "{report}");

    // Counts, and a sample of bodies read back through both stores.
    let sqlite = Store::open_read_only(&file).unwrap();
    let pg = Store::connect_read_only(&url).await.unwrap();
    assert_eq!(
        sqlite.response_stats(&Default::default()).await.unwrap(),
        pg.response_stats(&Default::default()).await.unwrap()
    );
    assert_eq!(sqlite.count_sessions().await.unwrap(), 1000);
    assert_eq!(pg.count_sessions().await.unwrap(), 1000);
    for s in (0..SESSIONS).step_by(97).chain([1]) {
        let session = format!("s{s:04}");
        assert_eq!(
            sqlite.transcript(&session).await.unwrap(),
            pg.transcript(&session).await.unwrap(),
            "{session}"
        );
        let request = format!("r{s:04}-09");
        assert_eq!(
            sqlite.get_request(&request).await.unwrap(),
            pg.get_request(&request).await.unwrap(),
            "{request}"
        );
        let response = format!("p{s:04}-05");
        assert_eq!(
            sqlite.get_response(&response).await.unwrap(),
            pg.get_response(&response).await.unwrap(),
            "{response}"
        );
    }
    let shared = pg.get_request("r0000-09").await.unwrap().unwrap().params;
    assert_eq!(shared, params(0));
    let inline = pg.get_request("r0001-09").await.unwrap().unwrap().params;
    assert_eq!(
        (&inline["tools"], &inline["temperature"]),
        (&tools(), &serde_json::json!(0.3))
    );
    let tool_sets = |url: String| async move {
        query(&url, "SELECT count(*) FROM shared_params").await[0].get::<_, i64>(0)
    };
    assert_eq!(
        tool_sets(url.clone()).await,
        1,
        "the tool set is stored once"
    );

    // Run again: nothing to do. Lose some rows: the next run puts back exactly those.
    let out = run(copy(), None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("10000 in the file, 0 copied, 10000 already there"));
    query(&url, "DELETE FROM sessions WHERE id >= 's0900'").await;
    let out = run(copy(), None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("sessions           1000 in the file, 100 copied"),
        "{report}"
    );
    assert!(
        report.contains("requests           10000 in the file, 1000 copied"),
        "{report}"
    );
    let messages = query(&url, "SELECT count(*) FROM messages").await[0].get::<_, i64>(0);
    assert_eq!(messages, 10_000, "a message stored twice");
    assert_eq!(tool_sets(url.clone()).await, 1, "a tool set stored twice");
    let links = query(&url, "SELECT count(*) FROM request_shared_params").await[0].get::<_, i64>(0);
    assert_eq!(
        links, 5000,
        "each request of an even session links its tool set"
    );
}

#[tokio::test]
async fn a_copy_into_an_unreachable_database_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archive.db");
    Store::open(&file).unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.arg("--database").arg(&file).args([
        "db",
        "copy",
        "--to",
        "postgres://qwen:s3cret@127.0.0.1:1/q?sslmode=disable",
    ]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach the database") && !err.contains("s3cret"),
        "{err}"
    );
    let mut cmd = qwenctl(dir.path());
    cmd.arg("--database")
        .arg(&file)
        .args(["db", "copy", "--to", "mysql://db/q"]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2));
}
