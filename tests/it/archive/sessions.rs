//! `sessions list/show/delete`, `stats` and the data endpoints over the same exchanges.

use serde_json::Value;

use super::*;
use crate::common::*;

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
