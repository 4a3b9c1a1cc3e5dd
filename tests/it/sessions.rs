//! The archive from the outside (issue 5): exchanges go through `serve`, then the real
//! binary reads the same database with `sessions`, `stats` and `db`, and its answers must
//! agree with the data endpoints and with what the client sent and received.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::*;

/// The real binary against the test server's database.
fn qwenctl_on(dir: &Path, db: &Path) -> Command {
    let mut cmd = qwenctl(dir);
    cmd.env("DATABASE_PATH", db);
    cmd
}

/// Runs `qwenctl ARGS` against `db` off the async runtime.
async fn cli(dir: &Path, db: &Path, args: &[&str]) -> Output {
    let mut cmd = qwenctl_on(dir, db);
    cmd.args(args);
    run(cmd, None).await
}

/// Asserts exit 0 and parses stdout as JSON.
fn json_out(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

/// Plays a conversation the way OpenAI clients do (the whole history resent each turn);
/// returns the messages in order, answers included.
async fn converse(s: &TestServer, model: &str, users: &[&str]) -> Vec<(String, String)> {
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
async fn fail(s: &TestServer, fault: &str) {
    let (status, _) = s
        .chat(
            "qwen3-max",
            &msgs(&[("user", &format!("[[fake:{fault}]] please fail"))]),
        )
        .await;
    assert!(status >= 400, "{fault} did not fail");
}

/// The id of the session whose title starts with `title`, from `sessions list --json`.
fn session_with_title(list: &Value, title: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap_or_default().starts_with(title))
        .unwrap_or_else(|| panic!("no session titled {title} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sum(items: &[Value], field: &str) -> i64 {
    items.iter().map(|v| v[field].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn list_data_endpoints_and_stats_agree() {
    let s = TestServer::start().await;
    converse(&s, "qwen3-max", &["Hi, my name is Alice.", "Tea?", "Name?"]).await;
    converse(&s, "qwen3-max", &["one turn only"]).await;
    converse(&s, "qwen3.7-plus-thinking", &["think it over", "and again"]).await;
    fail(&s, "500").await;
    fail(&s, "ratelimit").await;
    converse(&s, "qwen3-max", &["after the failures"]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let cli_list = json_out(
        &cli(
            dir.path(),
            &s.db_path,
            &["sessions", "list", "--json", "--limit", "100"],
        )
        .await,
    );
    let cli_list = cli_list.as_array().unwrap().clone();
    let http: Value = s.get("/v1/sessions?limit=100").await.json().await.unwrap();
    let http_list = http["data"].as_array().unwrap().clone();
    let stats: Value = s.get("/v1/responses/stats").await.json().await.unwrap();
    let stats = &stats["statistics"];

    // The same sessions, in the same order, with the same totals.
    assert!(cli_list.len() >= 4, "{cli_list:?}");
    let ids = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&cli_list), ids(&http_list));
    for field in [
        "turns",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
    ] {
        assert_eq!(sum(&cli_list, field), sum(&http_list, field), "{field}");
    }
    // Every token the responses carry belongs to a session.
    for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
        assert_eq!(
            sum(&cli_list, field),
            stats[field].as_i64().unwrap(),
            "{field}"
        );
    }
    assert!(stats["total_tokens"].as_i64().unwrap() > 0);
    let three = session_with_title(&Value::Array(cli_list.clone()), "Hi, my name is Alice.");
    let three = cli_list.iter().find(|s| s["id"] == three.as_str()).unwrap();
    assert_eq!(three["turns"], 3);

    // `stats --json`: the same figures as the data endpoint, errors by class.
    let report = json_out(&cli(dir.path(), &s.db_path, &["stats", "--json"]).await);
    assert_eq!(report["group_by"], "all");
    let all = &report["groups"][0];
    assert_eq!(all["key"], "all");
    assert_eq!(all["requests"], stats["total_requests"]);
    assert_eq!(all["ok"], stats["ok"]);
    for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
        assert_eq!(all[field], stats[field], "{field}");
    }
    let errors: i64 = all["errors_by_kind"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(
        errors,
        stats["total_responses"].as_i64().unwrap() - stats["ok"].as_i64().unwrap()
    );
    assert!(errors >= 2, "{all}");
    assert_eq!(all["ok"], 7);
    assert_eq!(all["duration_ms"]["samples"], stats["total_responses"]);
    assert!(
        all["duration_ms"]["p95"].as_i64().unwrap() >= all["duration_ms"]["p50"].as_i64().unwrap()
    );
    assert!(all["first_token_ms"]["samples"].as_i64().unwrap() >= 7);

    // Grouped by model: the groups add up to the whole.
    let by_model = json_out(
        &cli(
            dir.path(),
            &s.db_path,
            &["stats", "--by", "model", "--json"],
        )
        .await,
    );
    let groups = by_model["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["key"].as_str().unwrap().starts_with("qwen3.7-plus")),
        "{by_model}"
    );
    assert_eq!(
        sum(groups, "requests"),
        stats["total_requests"].as_i64().unwrap()
    );
    assert_eq!(
        sum(groups, "total_tokens"),
        stats["total_tokens"].as_i64().unwrap()
    );

    // --since: a duration or a date; anything else is a usage error naming the flag.
    let recent = json_out(
        &cli(
            dir.path(),
            &s.db_path,
            &["stats", "--since", "1h", "--json"],
        )
        .await,
    );
    assert_eq!(recent["groups"][0]["requests"], stats["total_requests"]);
    let future = json_out(
        &cli(
            dir.path(),
            &s.db_path,
            &["stats", "--since", "2999-01-01", "--json"],
        )
        .await,
    );
    assert_eq!(future["groups"][0]["requests"], 0);
    let bad = cli(dir.path(), &s.db_path, &["stats", "--since", "abc"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--since"), "{}", stderr(&bad));
    assert!(bad.stdout.is_empty());

    // The tables print one row per session / group.
    let table = cli(dir.path(), &s.db_path, &["sessions", "list"]).await;
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = stdout(&table);
    for header in ["ID", "TITLE", "MODEL", "TURNS", "TOKENS", "LAST ACTIVE"] {
        assert!(text.contains(header), "{text}");
    }
    assert!(text.contains("Hi, my name is Alice."), "{text}");
    assert!(text.contains("just now"), "{text}");
    let table = cli(dir.path(), &s.db_path, &["stats", "--by", "model"]).await;
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    assert!(
        stdout(&table).contains("qwen3.7-plus "),
        "{}",
        stdout(&table)
    );
}

#[tokio::test]
async fn export_formats_hold_the_whole_conversation() {
    let s = TestServer::start().await;
    let three = converse(
        &s,
        "qwen3-max",
        &[
            "Hi, my name is Alice.",
            "I like green tea.",
            "What is my name?",
        ],
    )
    .await;
    assert_eq!(three[5].1, "Your name is Alice.");
    converse(&s, "qwen3.7-plus-thinking", &["think about it"]).await;
    converse(&s, "qwen3-max", &["something else"]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = &s.db_path;
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    let id = session_with_title(&list, "Hi, my name is Alice.");

    // jsonl: the 3 user and 3 assistant messages, in order, with the session fields.
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", &id, "--format", "jsonl"],
    )
    .await;
    let text = json_line_text(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let record: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["title"], "Hi, my name is Alice.");
    assert_eq!(record["model"], "qwen3-max");
    assert!(record["created_at"].as_i64().unwrap() > 0);
    assert!(record["updated_at"].as_i64().unwrap() >= record["created_at"].as_i64().unwrap());
    let messages: Vec<(String, String)> = record["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(messages, three);

    // The thinking answer keeps its reasoning apart.
    let thinking = session_with_title(&list, "think about it");
    let out = cli(dir.path(), db, &["sessions", "export", &thinking]).await;
    let record: Value = serde_json::from_str(json_line_text(&out).trim()).unwrap();
    assert_eq!(record["messages"][1]["role"], "assistant");
    assert_eq!(record["messages"][1]["content"], "You said: think about it");
    assert!(
        !record["messages"][1]["reasoning"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{record}"
    );
    assert!(record["messages"][0].get("reasoning").is_none());

    // openai: one {"messages": [...]} line per session, role and content only.
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", "--all", "--format", "openai"],
    )
    .await;
    let text = json_line_text(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    for line in text.lines() {
        let example: Value = serde_json::from_str(line).unwrap();
        let object = example.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["messages"], "{line}");
        for m in example["messages"].as_array().unwrap() {
            let mut keys: Vec<&String> = m.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["content", "role"], "{line}");
        }
        assert_eq!(
            example["messages"].as_array().unwrap().last().unwrap()["role"],
            "assistant"
        );
    }
    assert!(
        text.contains(r#"{"role":"assistant","content":"Your name is Alice."}"#),
        "{text}"
    );

    // markdown: a readable transcript.
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", &id, "--format", "markdown"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with("# Hi, my name is Alice.\n"), "{md}");
    assert_eq!(md.matches("**user**").count(), 3, "{md}");
    assert_eq!(md.matches("**assistant**").count(), 3, "{md}");
    let positions: Vec<usize> = three
        .iter()
        .map(|(_, content)| {
            md.find(content.as_str())
                .unwrap_or_else(|| panic!("{content} missing:\n{md}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{md}"
    );
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", &thinking, "--format", "markdown"],
    )
    .await;
    assert!(stdout(&out).contains("> *reasoning*"), "{}", stdout(&out));

    // json: one array; -o writes the same bytes to a file.
    let out = cli(
        dir.path(),
        db,
        &["sessions", "export", "--all", "--format", "json"],
    )
    .await;
    let all = json_out(&out);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let file = dir.path().join("export.json");
    let to_file = cli(
        dir.path(),
        db,
        &[
            "sessions",
            "export",
            "--all",
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(to_file.status.code(), Some(0), "{}", stderr(&to_file));
    assert!(to_file.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);

    // Neither ids nor --all: usage error; an unknown id: failure, nothing written.
    let out = cli(dir.path(), db, &["sessions", "export"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--all"), "{}", stderr(&out));
    let out = cli(dir.path(), db, &["sessions", "export", &id, "nope"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "qwenctl: error: no session with id nope\n");
    assert!(out.stdout.is_empty());
}

/// stdout of a successful export.
fn json_line_text(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    stdout(out)
}

#[tokio::test]
async fn show_then_delete_a_session() {
    let s = TestServer::start().await;
    let three = converse(&s, "qwen3-max", &["First question", "Second one", "Third"]).await;
    converse(&s, "qwen3.7-plus-thinking", &["ponder this"]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = &s.db_path;
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    let id = session_with_title(&list, "First question");

    let out = cli(dir.path(), db, &["sessions", "show", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("First question\n"), "{text}");
    assert!(text.contains(&format!("session  {id}")), "{text}");
    assert!(text.contains("chat id"), "{text}");
    assert_eq!(text.matches("user:\n").count(), 3, "{text}");
    assert_eq!(text.matches("assistant:\n").count(), 3, "{text}");
    assert_eq!(text.matches("[ok · stop").count(), 3, "{text}");
    for (_, content) in &three {
        assert!(
            text.contains(content.as_str()),
            "{content} missing:\n{text}"
        );
    }
    assert!(!text.contains('\x1b'), "colour in a pipe:\n{text}");

    let thinking = session_with_title(&list, "ponder this");
    let out = cli(dir.path(), db, &["sessions", "show", &thinking]).await;
    assert!(
        stdout(&out).contains("    reasoning:\n    │ "),
        "{}",
        stdout(&out)
    );

    let out = cli(dir.path(), db, &["sessions", "show", &id, "--json"]).await;
    let transcript = json_out(&out);
    assert_eq!(transcript["session"]["id"], id.as_str());
    assert_eq!(transcript["turns"].as_array().unwrap().len(), 3);
    assert_eq!(transcript["turns"][2]["messages"][0]["content"], "Third");

    let out = cli(dir.path(), db, &["sessions", "show", "nope"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "qwenctl: error: no session with id nope\n");

    let out = cli(dir.path(), db, &["sessions", "delete", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("Deleted session {id}\n"));
    let out = cli(dir.path(), db, &["sessions", "show", &id]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!("qwenctl: error: no session with id {id}\n")
    );
    let out = cli(dir.path(), db, &["sessions", "delete", &id]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(s.get(&format!("/v1/sessions/{id}")).await.status(), 404);
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn export_into_a_closed_pipe_exits_quietly() {
    let s = TestServer::start().await;
    // 30 sessions of ~8 KB each: far more than a pipe buffers, so `head` really closes it
    // while qwenctl is still writing.
    let filler = "lorem ipsum dolor sit amet ".repeat(300);
    for i in 0..30 {
        let (status, body) = s
            .chat(
                "qwen3-max",
                &msgs(&[("user", &format!("session {i}: {filler}"))]),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "json", "markdown", "openai"] {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!(
                r#""$QWENCTL" sessions export --all --format {format} | head -1; echo "rc=${{PIPESTATUS[0]}}""#
            ))
            .env_clear()
            .env("QWENCTL", assert_cmd::cargo::cargo_bin!("qwenctl"))
            .env("HOME", dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_PATH", &s.db_path)
            .current_dir(dir.path());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let text = stdout(&out);
        assert!(
            stderr(&out).is_empty(),
            "{format}: stderr: {}",
            stderr(&out)
        );
        assert!(text.ends_with("rc=0\n"), "{format}: {text}");
        assert_eq!(text.lines().count(), 2, "{format}: {text}");
    }
}

#[tokio::test]
async fn db_backup_vacuum_and_prune() {
    let s = TestServer::start().await;
    converse(&s, "qwen3-max", &["keep me", "and me"]).await;
    converse(&s, "qwen3-max", &["another"]).await;
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = &s.db_path;

    let dest = dir.path().join("backups/copy.db");
    let out = cli(dir.path(), db, &["db", "backup", dest.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(dest.to_str().unwrap()), "{text}");
    assert!(text.contains("KiB") || text.contains(" B)"), "{text}");
    {
        let copy = rusqlite::Connection::open(&dest).unwrap();
        let check: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let sessions: i64 = copy
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sessions, 2);
    }
    let onto_itself = cli(dir.path(), db, &["db", "backup", db.to_str().unwrap()]).await;
    assert_eq!(
        onto_itself.status.code(),
        Some(2),
        "{}",
        stderr(&onto_itself)
    );

    let out = cli(dir.path(), db, &["db", "vacuum"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Vacuumed "), "{}", stdout(&out));

    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "abc"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--older-than"), "{}", stderr(&out));
    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "30d"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Pruned 0 "), "{}", stdout(&out));
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    assert_eq!(list.as_array().unwrap().len(), 2);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let out = cli(dir.path(), db, &["db", "prune", "--older-than", "1ms"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Pruned 2 "), "{}", stdout(&out));
    let list = json_out(&cli(dir.path(), db, &["sessions", "list", "--json"]).await);
    assert_eq!(list, json!([]));
}

/// Bytes the database uses, WAL included (the logical size SQLite sees).
fn db_bytes(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
}

#[tokio::test]
async fn a_long_conversation_grows_the_database_linearly() {
    let s = TestServer::start().await;
    // ~1 KB per user message, distinct per turn so deduplication cannot hide anything.
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(23);
    let mut history: Vec<Value> = Vec::new();
    let mut sizes = std::collections::BTreeMap::new();
    for turn in 1..=50 {
        history.push(json!({"role": "user", "content": format!("turn {turn}: {filler}")}));
        let (status, body) = s.chat("qwen3-max", &Value::Array(history.clone())).await;
        assert_eq!(status, 200, "{body}");
        let answer = body["choices"][0]["message"]["content"].clone();
        history.push(json!({"role": "assistant", "content": answer}));
        if [1, 10, 25, 50].contains(&turn) {
            s.store.flush().await.unwrap();
            sizes.insert(turn, db_bytes(&s.db_path));
        }
    }
    let sent = serde_json::to_vec(&history).unwrap().len();
    let first = (sizes[&10] - sizes[&1]) as f64 / 9.0;
    let last = (sizes[&50] - sizes[&25]) as f64 / 25.0;
    eprintln!(
        "database growth over 50 turns (~1 KB user message each, history resent; the last \
         request carried {sent} bytes of messages): sizes {sizes:?}; turns 2-10: {first:.0} \
         bytes/turn, turns 26-50: {last:.0} bytes/turn, whole: {:.0} bytes/turn",
        sizes[&50] as f64 / 50.0
    );
    assert!(first > 0.0, "{sizes:?}");
    assert!(
        last < 2.0 * first,
        "storage grows faster than linearly: {first:.0} → {last:.0} bytes/turn"
    );
    // Storing each resent history again would cost the sum of all histories, about 25 times
    // the last one; what the 49 turns after the first added must stay far below that.
    assert!(
        sizes[&50] - sizes[&1] < (sent as i64) * 10,
        "{sizes:?} vs {sent}"
    );
}
