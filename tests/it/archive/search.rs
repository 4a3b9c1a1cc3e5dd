//! Full-text search from the outside (issue 16): `qwenctl sessions search` and
//! `GET /v1/sessions?q=` over exchanges made through `serve`, words taken literally, each
//! key's sessions only, and a database written by a qwenctl from before the search index.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::common::*;

/// The ids of a JSON list (the CLI's array, or the data API's `data`).
fn ids(list: &Value) -> Vec<String> {
    let rows = list.get("data").unwrap_or(list);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The matched words of an item's snippet, lower case.
fn matched(item: &Value) -> Vec<String> {
    item["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["match"] == true)
        .map(|s| s["text"].as_str().unwrap().to_lowercase())
        .collect()
}

#[tokio::test]
async fn sessions_search_finds_what_was_said_on_the_cli_and_over_http() {
    let s = TestServer::start().await;
    converse(
        &s,
        "qwen3-max",
        &["Tell me about sourdough starters", "and rye?"],
    )
    .await;
    converse(&s, "qwen3.7-plus", &["Plan a trip to Kyoto"]).await;
    converse(
        &s,
        "qwen3-max",
        &["A \"quoted\" col:umn (with) NEAR -dash *star"],
    )
    .await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = json_out(&cli(dir.path(), &s.db_path, &["sessions", "list", "--json"]).await);
    let sourdough = session_with_title(&list, "Tell me about sourdough");
    let kyoto = session_with_title(&list, "Plan a trip");
    let syntax = session_with_title(&list, "A \"quoted\"");

    let search = |args: Vec<&'static str>| {
        let dir = dir.path().to_path_buf();
        let db = s.db_path.clone();
        async move {
            let mut all = vec!["sessions", "search"];
            all.extend(args);
            cli(&dir, &db, &all).await
        }
    };
    let found = json_out(&search(vec!["SOURDOUGH", "--json"]).await);
    assert_eq!(ids(&found), [sourdough.as_str()]);
    assert_eq!(matched(&found[0]), ["sourdough"]);
    assert_eq!(found[0]["turns"], 2, "the session's fields come along");
    // The second turn's message, only sent as new in the continued chat, is found too.
    assert_eq!(
        ids(&json_out(&search(vec!["rye", "--json"]).await)),
        [sourdough.as_str()]
    );
    assert_eq!(
        ids(&json_out(&search(vec!["trip", "kyoto", "--json"]).await)),
        [kyoto.as_str()]
    );
    let by_model = json_out(&search(vec!["kyoto", "--model", "qwen3-max", "--json"]).await);
    assert!(ids(&by_model).is_empty(), "{by_model}");
    let recent = json_out(&search(vec!["kyoto", "--since", "7d", "--json"]).await);
    assert_eq!(ids(&recent), [kyoto.as_str()]);
    assert_eq!(
        ids(&json_out(
            &search(vec!["kyoto", "--limit", "1", "--json"]).await
        ))
        .len(),
        1
    );

    // Search syntax is taken as words, never as an error (`--` before a word that starts
    // with a hyphen, as for every command).
    for query in ["\"quoted\"", "col:umn", "(with)", "NEAR", "-dash", "*star"] {
        let out = search(vec!["--json", "--", query]).await;
        assert_eq!(ids(&json_out(&out)), [syntax.as_str()], "{query}");
    }
    for query in ["\"", "*", "(", "NEAR(", "AND", "a OR", "-", "--"] {
        let out = search(vec!["--json", "--", query]).await;
        assert_eq!(out.status.code(), Some(0), "{query}: {}", stderr(&out));
    }

    // Piped text: the session, then the snippet, with no escape codes or markers.
    let out = search(vec!["sourdough"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{sourdough}  ")), "{text}");
    assert!(text.contains("Tell me about sourdough starters"), "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\u{e000}'),
        "{text:?}"
    );
    let none = search(vec!["nothing-like-this-was-said"]).await;
    assert_eq!(none.status.code(), Some(0));
    assert!(stdout(&none).is_empty() && stderr(&none).contains("No session matches"));
    let usage = search(vec!["x", "--since", "7"]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));

    // The data API answers the same.
    let http: Value = s
        .get("/v1/sessions?q=sourdough")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&http), [sourdough.as_str()]);
    assert_eq!(http["data"][0]["snippet"], found[0]["snippet"]);
    let http: Value = s
        .get("/v1/sessions?q=%22quoted%22%20NEAR")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&http), [syntax.as_str()]);
}

#[tokio::test]
async fn each_key_searches_only_its_own_sessions() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![
            ("API_KEYS", "sk-one,sk-two".into()),
            ("ADMIN_API_KEYS", "sk-admin".into()),
        ],
        ..Default::default()
    })
    .await;
    for (key, text) in [
        ("sk-one", "pelican facts one"),
        ("sk-two", "pelican facts two"),
    ] {
        let resp = s
            .http
            .post(format!("{}/v1/chat/completions", s.url))
            .bearer_auth(key)
            .json(&json!({"model": "qwen3-max", "messages": [{"role": "user", "content": text}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    s.store.flush().await.unwrap();
    let search = |key: &'static str, q: &'static str| {
        let req = s
            .http
            .get(format!("{}/v1/sessions?q={q}", s.url))
            .bearer_auth(key);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let titles = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(&search("sk-one", "pelican").await),
        ["pelican facts one"]
    );
    assert_eq!(
        titles(&search("sk-two", "pelican").await),
        ["pelican facts two"]
    );
    assert!(titles(&search("sk-one", "two").await).is_empty());
    assert_eq!(
        search("sk-admin", "pelican").await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let unauthorized = s.get("/v1/sessions?q=pelican").await;
    assert_eq!(unauthorized.status(), 401);
}

/// The schema an older qwenctl (migrations 0001 to 0005) wrote, with one answered exchange.
fn old_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in [
        include_str!("../../../src/store/migrations/0001_init.sql"),
        include_str!("../../../src/store/migrations/0002_tool_calls.sql"),
        include_str!("../../../src/store/migrations/0003_withdrawn_responses.sql"),
        include_str!("../../../src/store/migrations/0004_key_tenancy.sql"),
        include_str!("../../../src/store/migrations/0005_read_indexes.sql"),
    ] {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute_batch(
        "PRAGMA user_version = 5;
         INSERT INTO metadata (key, value) VALUES ('schema_version', '5');
         INSERT INTO sessions (id, chat_id, model, title, source, created_at, updated_at)
             VALUES ('old-session', 'chat-old', 'qwen3-max', 'Lighthouses', 'serve',
                     1700000000000, 1700000000000);
         INSERT INTO requests (id, session_id, endpoint, model, stream, message_count, params,
                 received_at)
             VALUES ('old-request', 'old-session', 'chat.completions', 'qwen3-max', 0, 1, '{}',
                     1700000000000);
         INSERT INTO messages (id, content_hash, role, content)
             VALUES (1, 0, 'user', 'Who kept the lighthouse of Alexandria?');
         INSERT INTO request_messages (request_id, position, message_id)
             VALUES ('old-request', 0, 1);
         INSERT INTO responses (id, request_id, session_id, status, content, reasoning,
                 duration_ms, created_at)
             VALUES ('old-response', 'old-request', 'old-session', 'ok',
                     'The Pharos was tended by keepers.', '', 10, 1700000000001);",
    )
    .unwrap();
}

#[tokio::test]
async fn a_database_of_an_older_qwenctl_is_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    old_database(&db);
    // The CLI reads it without changing it (through an upgraded copy).
    let found = json_out(
        &cli(
            dir.path(),
            &db,
            &["sessions", "search", "lighthouse", "--json"],
        )
        .await,
    );
    assert_eq!(ids(&found), ["old-session"]);
    assert_eq!(matched(&found[0]), ["lighthouse"]);
    let found = json_out(&cli(dir.path(), &db, &["sessions", "search", "pharos", "--json"]).await);
    assert_eq!(
        ids(&found),
        ["old-session"],
        "answers of old rows are indexed too"
    );

    // `serve` migrates the file itself; old and new exchanges are found alike.
    let fake = qwen_fake::FakeUpstream::start(qwen_fake::FakeOptions::default())
        .await
        .unwrap();
    let s = TestServer::start_on(fake, Vec::new(), Some(db.clone())).await;
    let (status, _) = s
        .chat(
            "qwen3-max",
            &msgs(&[("user", "Is the lighthouse still there?")]),
        )
        .await;
    assert_eq!(status, 200);
    s.store.flush().await.unwrap();
    let http: Value = s
        .get("/v1/sessions?q=lighthouse")
        .await
        .json()
        .await
        .unwrap();
    let found = ids(&http);
    assert_eq!(found.len(), 2, "{http}");
    assert_eq!(found[1], "old-session", "newest first");
    let http: Value = s
        .get("/v1/sessions?q=alexandria")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&http), ["old-session"]);
}
