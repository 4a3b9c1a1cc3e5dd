//! A tool loop as the archive shows it (issue 12, item 10): `sessions show`, `sessions list`
//! and the exports render calls and results as such, never as the convention's markers.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test]
async fn sessions_show_and_export_render_calls_and_results() {
    let s = TestServer::start().await;
    let mut messages = vec![
        json!({"role": "user", "content": r#"Weather? [[call:get_weather {"city":"Paris"}]]"#}),
    ];
    let choice = message(
        &s,
        json!({"model": "qwen3-max", "messages": messages, "tools": [weather()]}),
    )
    .await;
    messages.push(assistant_turn(&choice));
    messages.extend(results(&choice, |_| "sunny".to_owned()));
    let done = message(
        &s,
        json!({"model": "qwen3-max", "messages": messages, "tools": [weather()]}),
    )
    .await;
    assert_eq!(
        done["message"]["content"],
        "Done. get_weather returned: sunny."
    );
    s.store.flush().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on_db = |args: &[&str]| {
        let mut cmd = qwenctl(dir.path());
        cmd.env("DATABASE_PATH", &s.db_path).args(args);
        cmd
    };

    let list = run(on_db(&["sessions", "list", "--json"]), None).await;
    let list: Value =
        serde_json::from_slice(&list.stdout).unwrap_or_else(|_| panic!("{}", stderr(&list)));
    let session = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["tool_calls"], 1, "{list}");

    let show = stdout(&run(on_db(&["sessions", "show", &session]), None).await);
    assert!(
        show.contains(r#"→ get_weather({"city":"Paris"})"#),
        "{show}"
    );
    assert!(show.contains("← get_weather: sunny"), "{show}");
    assert!(!show.contains("<<<"), "{show}");

    let markdown = stdout(
        &run(
            on_db(&["sessions", "export", &session, "--format", "markdown"]),
            None,
        )
        .await,
    );
    assert!(
        markdown.contains("**Tool call** `get_weather`"),
        "{markdown}"
    );
    assert!(markdown.contains("**Tool result**"), "{markdown}");
    assert!(!markdown.contains("<<<"), "{markdown}");

    let jsonl = stdout(
        &run(
            on_db(&["sessions", "export", &session, "--format", "jsonl"]),
            None,
        )
        .await,
    );
    let exported: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    let messages = exported["messages"].as_array().unwrap();
    let call = &messages[1]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(messages[2]["tool_call_id"], call["id"]);
    assert_eq!(messages[2]["content"], "sunny");
}
