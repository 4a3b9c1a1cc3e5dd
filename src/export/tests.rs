//! The formats byte by byte where it matters, for stored sessions and for the REPL's
//! conversation in progress.

use serde_json::Value;

use super::*;
use crate::session::{self, Role};

/// A stored session with one answered turn.
pub(super) fn exported(id: &str) -> Exported {
    let msg = |role: &str, content: &str, reasoning: Option<&str>| Message {
        role: role.into(),
        content: content.into(),
        reasoning: reasoning.map(str::to_owned),
        ..Message::default()
    };
    Exported {
        about: About::Stored(SessionSummary {
            account: None,
            object: "session",
            id: id.into(),
            chat_id: "c".into(),
            model: "qwen3-max".into(),
            title: "Hi there".into(),
            source: "serve".into(),
            api_key_id: None,
            created_at: 0,
            updated_at: 1000,
            turns: 1,
            prompt_tokens: 1,
            completion_tokens: 1,
            total_tokens: 2,
            tool_calls: 0,
        }),
        messages: vec![
            msg("user", "hi", None),
            msg("assistant", "hello", Some("think\nmore")),
        ],
    }
}

fn export(format: Format, n: usize) -> String {
    let mut buf = Vec::new();
    let mut sink = Sink::new(format, &mut buf);
    for i in 0..n {
        sink.write(&exported(&format!("s{i}"))).unwrap();
    }
    sink.finish().unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn json_is_one_array_written_item_by_item() {
    assert_eq!(export(Format::Json, 0), "[]\n");
    let all: Value = serde_json::from_str(&export(Format::Json, 3)).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(all[2]["id"], "s2");
    assert_eq!(all[0]["messages"][1]["reasoning"], "think\nmore");
    assert!(all[0]["messages"][0].get("reasoning").is_none());
}

#[test]
fn openai_lines_carry_role_and_content_only() {
    let text = export(Format::Openai, 2);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        serde_json::json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"}
        ]})
    );
}

#[test]
fn markdown_reads_as_a_transcript() {
    let text = export(Format::Markdown, 2);
    assert!(
        text.starts_with("# Hi there\n\n- session: `s0`\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "**user**\n\nhi\n\n**assistant**\n\n> *reasoning*\n>\n> think\n> more\n\nhello\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("\n---\n").count(), 1, "{text}");
}

fn sample() -> Vec<session::Message> {
    vec![
        session::Message::text(Role::System, "be brief"),
        session::Message::text(Role::User, "my name is Alice"),
        session::Message::text(Role::Assistant, "Hi \"Alice\".\n"),
    ]
}

/// What the REPL's `/export` writes.
fn render(format: Format, e: &Exported) -> String {
    let mut buf = Vec::new();
    let mut sink = Sink::new(format, &mut buf);
    sink.write(e).unwrap();
    sink.finish().unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn formats_from_extensions() {
    assert_eq!(Format::for_path(Path::new("a.MD")), Some(Format::Markdown));
    assert_eq!(Format::for_path(Path::new("a.json")), Some(Format::Json));
    assert_eq!(
        Format::for_path(Path::new("x/a.jsonl")),
        Some(Format::Jsonl)
    );
    assert_eq!(Format::for_path(Path::new("a.txt")), None);
    assert_eq!(Format::for_path(Path::new("noext")), None);
}

#[test]
fn renders_every_format() {
    let messages = sample();
    let export = Exported::live(Some("s1"), "qwen3-max", &messages);
    let md = render(Format::Markdown, &export);
    assert!(md.contains("## You\n\nmy name is Alice\n"), "{md}");
    assert!(md.contains("## System\n\nbe brief"), "{md}");
    assert!(md.contains("`s1`"));

    let json: Value = serde_json::from_str(&render(Format::Json, &export)).unwrap();
    assert_eq!(json["messages"][2]["content"], "Hi \"Alice\".\n");
    assert_eq!(json["session_id"], "s1");

    let lines = render(Format::Jsonl, &export);
    let parsed: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[1]["role"], "user");
}

#[test]
fn a_conversation_in_progress_is_one_object_or_one_message_a_line() {
    let messages = sample();
    let export = Exported::live(None, "qwen3-max", &messages);
    assert_eq!(
        render(Format::Markdown, &export),
        "# Conversation\n\n- model: `qwen3-max`\n\n## System\n\nbe brief\n\n## You\n\n\
         my name is Alice\n\n## Qwen\n\nHi \"Alice\".\n"
    );
    let json = render(Format::Json, &export);
    assert!(json.starts_with("{\n") && json.ends_with("}\n"), "{json}");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["session_id"], Value::Null);
    assert_eq!(json["model"], "qwen3-max");
    assert_eq!(
        render(Format::Jsonl, &export).lines().next(),
        Some(r#"{"role":"system","content":"be brief"}"#)
    );
}

/// A stored session in which the answer called a tool and the client sent back its result.
fn with_tools() -> Exported {
    let mut e = exported("t");
    e.messages = vec![
        Message {
            role: "user".into(),
            content: "weather in Paris?".into(),
            ..Message::default()
        },
        Message {
            role: "assistant".into(),
            content: String::new(),
            tool_calls: vec![
                ToolCall::new("call_1", "get_weather", r#"{"city": "Paris"}"#),
                ToolCall::new("call_2", "get_time", "{}"),
            ],
            ..Message::default()
        },
        Message {
            role: "tool".into(),
            content: "sunny".into(),
            tool_call_id: Some("call_1".into()),
            name: Some("get_weather".into()),
            ..Message::default()
        },
        Message {
            role: "assistant".into(),
            content: "It is sunny.".into(),
            ..Message::default()
        },
    ];
    e
}

#[test]
fn markdown_shows_tool_calls_and_results_as_such() {
    let text = render(Format::Markdown, &with_tools());
    assert!(
        text.contains(
            "**assistant**\n\n**Tool call** `get_weather` `{\"city\":\"Paris\"}`\n\n\
             **Tool call** `get_time` `{}`\n\n\
             **Tool result** (`get_weather`, call_1)\n\n```\nsunny\n```\n\n\
             **assistant**\n\nIt is sunny.\n"
        ),
        "{text}"
    );
    assert!(!text.contains("<<<"), "{text}");
}

#[test]
fn json_exports_carry_calls_ids_and_names() {
    let e = with_tools();
    let records: Value = serde_json::from_str(&render(Format::Json, &e)).unwrap();
    let m = &records[0]["messages"];
    assert_eq!(
        m[1],
        serde_json::json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"id": "call_2", "type": "function",
             "function": {"name": "get_time", "arguments": "{}"}}
        ]})
    );
    assert_eq!(
        m[2],
        serde_json::json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1",
                           "name": "get_weather"})
    );
    assert_eq!(
        m[0],
        serde_json::json!({"role": "user", "content": "weather in Paris?"})
    );

    let line: Value = serde_json::from_str(render(Format::Jsonl, &e).trim_end()).unwrap();
    assert_eq!(line["messages"][2]["tool_call_id"], "call_1");

    // Fine-tuning lines keep the calls and call ids, not the tool message's name.
    let tuning: Value = serde_json::from_str(render(Format::Openai, &e).trim_end()).unwrap();
    assert_eq!(
        tuning["messages"][1]["tool_calls"][1]["function"]["name"],
        "get_time"
    );
    assert_eq!(
        tuning["messages"][2],
        serde_json::json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
    );
}

#[test]
fn a_conversation_in_progress_exports_its_tool_calls() {
    let mut calling = session::Message::text(Role::Assistant, "Let me look.");
    calling.tool_calls = vec![session::ToolCall {
        id: "call_1".into(),
        name: "get_weather".into(),
        arguments: r#"{"city":"Paris"}"#.into(),
    }];
    let result = session::Message {
        tool_call_id: Some("call_1".into()),
        name: Some("get_weather".into()),
        ..session::Message::text(Role::Tool, r#"{"sky":"clear"}"#)
    };
    let messages = vec![
        session::Message::text(Role::User, "weather?"),
        calling,
        result,
    ];
    let e = Exported::live(None, "qwen3-max", &messages);
    let md = render(Format::Markdown, &e);
    assert!(
        md.ends_with(
            "## Qwen\n\nLet me look.\n\n**Tool call** `get_weather` `{\"city\":\"Paris\"}`\n\n\
             ## Tool result (`get_weather`, call_1)\n\n```json\n{\"sky\":\"clear\"}\n```\n"
        ),
        "{md}"
    );
    let lines: Vec<Value> = render(Format::Jsonl, &e)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[1]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(lines[2]["name"], "get_weather");
}
