//! The archive from the outside (issue 5): exchanges go through `serve`, then the real
//! binary reads the same database with `sessions`, `stats` and `db`, and its answers must
//! agree with the data endpoints and with what the client sent and received. This file holds
//! the helpers; `sessions` (list, show, delete, stats), `export` and `db` the tests.

mod db;
mod export;
mod health;
mod read_only;
mod search;
mod sessions;
mod terminal;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::*;

/// The real binary against the test server's database.
pub(super) fn qwenctl_on(dir: &Path, db: &Path) -> Command {
    let mut cmd = qwenctl(dir);
    cmd.env("DATABASE_PATH", db);
    cmd
}

/// Runs `qwenctl ARGS` against `db` off the async runtime.
pub(super) async fn cli(dir: &Path, db: &Path, args: &[&str]) -> Output {
    let mut cmd = qwenctl_on(dir, db);
    cmd.args(args);
    run(cmd, None).await
}

/// Asserts exit 0 and parses stdout as JSON.
pub(super) fn json_out(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

/// Plays a conversation the way OpenAI clients do (the whole history resent each turn);
/// returns the messages in order, answers included.
pub(super) async fn converse(s: &TestServer, model: &str, users: &[&str]) -> Vec<(String, String)> {
    let mut history: Vec<(String, String)> = Vec::new();
    for user in users {
        history.push(("user".into(), (*user).to_owned()));
        let messages = Value::Array(
            history
                .iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        );
        let (status, body) = s.chat(model, &messages).await;
        assert_eq!(status, 200, "{body}");
        let answer = body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        history.push(("assistant".into(), answer));
    }
    history
}

/// One failing exchange (the fake's fault injection).
pub(super) async fn fail(s: &TestServer, fault: &str) {
    let (status, _) = s
        .chat(
            "qwen3-max",
            &msgs(&[("user", &format!("[[fake:{fault}]] please fail"))]),
        )
        .await;
    assert!(status >= 400, "{fault} did not fail");
}

/// The id of the session whose title starts with `title`, from `sessions list --json`.
pub(super) fn session_with_title(list: &Value, title: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap_or_default().starts_with(title))
        .unwrap_or_else(|| panic!("no session titled {title} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(super) fn sum(items: &[Value], field: &str) -> i64 {
    items.iter().map(|v| v[field].as_i64().unwrap()).sum()
}

/// stdout of a successful export.
pub(super) fn json_line_text(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    stdout(out)
}

/// Bytes the database uses, WAL included (the logical size SQLite sees).
pub(super) fn db_bytes(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
}
