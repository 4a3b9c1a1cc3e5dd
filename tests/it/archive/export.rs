//! `sessions export`: every format holds the whole conversation; a closed pipe is quiet.

use serde_json::Value;

use super::*;
use crate::common::*;

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
