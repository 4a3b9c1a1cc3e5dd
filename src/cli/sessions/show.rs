//! `qwenctl sessions show ID`: one session as a readable transcript, or its [`Transcript`]
//! as JSON.
//!
//! Each turn shows the messages the client added, then the model's reasoning set apart as
//! an indented block (dim on a colour terminal), then the answer and what it cost. Turns
//! without a recorded answer (failed, still running) say so instead of leaving a gap. Tool
//! calls read as calls, never as the markers that carried them upstream: each call an
//! answer made is a `→ name(arguments)` line, each result the client sent back a
//! `← name: result` line. Everything stored is shown [`inert`]: escape sequences and bidi
//! overrides a client sent are seen, never obeyed by the terminal.

use std::fmt::Write as _;

use clap::Args;

use super::not_found;
use crate::context::Ctx;
use crate::output::{self, Age, Paint, ago, inert, timestamp};
use crate::store::{StoredMessage, StoredToolCall, Transcript, Turn};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id
    pub id: String,
    /// Print JSON instead of a transcript
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ShowArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.read_store().await?;
    let transcript = store
        .transcript(&args.id)
        .await?
        .ok_or_else(|| not_found(&args.id))?;
    if args.json {
        output::json(&transcript)?;
    } else {
        let now = crate::time::unix_now_ms();
        output::text(&render(&transcript, now, Paint::stdout()))?;
    }
    Ok(())
}

/// The whole transcript as text, ending in a newline.
fn render(t: &Transcript, now_ms: i64, paint: Paint) -> String {
    let s = &t.session;
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint.bold(&inert(&s.title)));
    let _ = writeln!(out, "  session  {}", inert(&s.id));
    let _ = writeln!(out, "  model    {}", inert(&s.model));
    let _ = writeln!(out, "  chat id  {}", inert(&s.chat_id));
    if let Some(account) = &s.account {
        let _ = writeln!(out, "  account  {}", inert(account));
    }
    let _ = writeln!(
        out,
        "  created  {} ({})",
        timestamp(s.created_at),
        ago(s.created_at, now_ms, Age::Long)
    );
    let _ = writeln!(
        out,
        "  turns    {} · {} tokens ({} prompt, {} completion)",
        s.turns, s.total_tokens, s.prompt_tokens, s.completion_tokens
    );
    if s.tool_calls > 0 {
        let plural = if s.tool_calls == 1 { "" } else { "s" };
        let _ = writeln!(out, "  tools    {} call{plural}", s.tool_calls);
    }
    for (n, turn) in t.turns.iter().enumerate() {
        out.push('\n');
        render_turn(&mut out, n + 1, turn, paint);
    }
    out
}

fn render_turn(out: &mut String, n: usize, turn: &Turn, paint: Paint) {
    let _ = writeln!(
        out,
        "{}",
        paint.bold(&format!("── turn {n} · {} ──", timestamp(turn.received_at)))
    );
    for message in &turn.messages {
        render_message(out, message, paint);
        out.push('\n');
    }
    if let Some(reasoning) = turn.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
        let mut block = String::from("    reasoning:\n");
        for line in reasoning.trim_end().lines() {
            let _ = writeln!(block, "    │ {}", inert(line));
        }
        let _ = writeln!(out, "{}", paint.dim(block.trim_end()));
        out.push('\n');
    }
    let content = turn.content.as_deref().filter(|c| !c.is_empty());
    if content.is_some() || !turn.tool_calls.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("assistant:"));
        if let Some(content) = content {
            let _ = writeln!(out, "{}", inert(content.trim_end()));
        }
        for call in &turn.tool_calls {
            let _ = writeln!(out, "{}", call_line(call));
        }
    } else {
        let _ = writeln!(out, "{}", paint.dim("(no answer recorded)"));
    }
    let _ = writeln!(out, "{}", paint.dim(&status_line(turn)));
}

/// A message the client sent: `role:` and its text, then its calls; a tool result as one
/// `← name: result` line (further lines of the result indented below it).
fn render_message(out: &mut String, m: &StoredMessage, paint: Paint) {
    if m.role == "tool" {
        let who = m
            .name
            .as_deref()
            .or(m.tool_call_id.as_deref())
            .unwrap_or("tool");
        let mut lines = m.content.trim_end().lines();
        let _ = writeln!(
            out,
            "← {}: {}",
            inert(who),
            inert(lines.next().unwrap_or_default())
        );
        for line in lines {
            let _ = writeln!(out, "  {}", inert(line));
        }
        return;
    }
    let _ = writeln!(out, "{}", paint.bold(&format!("{}:", inert(&m.role))));
    let text = m.content.trim_end();
    if !text.is_empty() || m.tool_calls.is_empty() {
        let _ = writeln!(out, "{}", inert(text));
    }
    for call in &m.tool_calls {
        let _ = writeln!(out, "{}", call_line(call));
    }
}

/// `→ get_weather({"city":"Paris"})`: the arguments as compact JSON when they parse.
fn call_line(call: &StoredToolCall) -> String {
    let arguments = serde_json::from_str::<serde_json::Value>(&call.arguments)
        .map_or_else(|_| call.arguments.trim().to_owned(), |v| v.to_string());
    format!("→ {}({})", inert(&call.name), inert(&arguments))
}

/// `[ok · stop · 12 prompt + 30 completion = 42 tokens · qwen3-max]`
fn status_line(turn: &Turn) -> String {
    let mut parts = vec![turn.status.clone().unwrap_or_else(|| "pending".to_owned())];
    if let Some(reason) = &turn.finish_reason {
        parts.push(reason.clone());
    }
    if let Some(n) = turn
        .upstream_turns
        .as_ref()
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .filter(|&n| n > 1)
    {
        parts.push(format!("{n} upstream turns"));
    }
    if let (Some(prompt), Some(completion), Some(total)) = (
        turn.prompt_tokens,
        turn.completion_tokens,
        turn.total_tokens,
    ) {
        parts.push(format!(
            "{prompt} prompt + {completion} completion = {total} tokens"
        ));
    }
    parts.push(turn.model.clone());
    inert(&format!("[{}]", parts.join(" · "))).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SessionSummary, StoredMessage};

    fn transcript() -> Transcript {
        let turn = |user: &str, answer: Option<&str>, reasoning: &str| Turn {
            request_id: "req".into(),
            received_at: 0,
            model: "qwen3-max".into(),
            messages: vec![StoredMessage::text("user", user)],
            content: answer.map(str::to_owned),
            reasoning: answer.map(|_| reasoning.to_owned()),
            tool_calls: Vec::new(),
            upstream_turns: None,
            status: Some(if answer.is_some() { "ok" } else { "error" }.into()),
            finish_reason: answer.map(|_| "stop".into()),
            prompt_tokens: Some(3),
            completion_tokens: Some(4),
            total_tokens: Some(7),
        };
        Transcript {
            session: SessionSummary {
                account: None,
                object: "session",
                id: "s1".into(),
                chat_id: "c1".into(),
                model: "qwen3-max".into(),
                title: "Hello there".into(),
                source: "serve".into(),
                api_key_id: None,
                created_at: 0,
                updated_at: 0,
                turns: 2,
                prompt_tokens: 6,
                completion_tokens: 8,
                total_tokens: 14,
                tool_calls: 0,
            },
            turns: vec![
                turn("hello", Some("You said: hello"), "first\nsecond"),
                turn("again", None, ""),
            ],
        }
    }

    #[test]
    fn transcript_sets_reasoning_apart_and_labels_roles() {
        let text = render(&transcript(), 0, Paint { color: false });
        assert!(text.starts_with("Hello there\n"), "{text}");
        assert!(text.contains("  chat id  c1\n"), "{text}");
        assert!(
            !text.contains("  account"),
            "no line without an account: {text}"
        );
        let mut with_account = transcript();
        with_account.session.account = Some("work".into());
        let text_with = render(&with_account, 0, Paint { color: false });
        assert!(
            text_with.contains("  chat id  c1\n  account  work\n"),
            "{text_with}"
        );
        assert!(text.contains("user:\nhello\n"), "{text}");
        assert!(
            text.contains("    reasoning:\n    │ first\n    │ second\n"),
            "{text}"
        );
        assert!(text.contains("assistant:\nYou said: hello\n"), "{text}");
        assert!(text.contains("[ok · stop · 3 prompt + 4 completion = 7 tokens"));
        assert!(text.contains("(no answer recorded)"), "{text}");
        assert!(!text.contains('\x1b'));
        let colored = render(&transcript(), 0, Paint { color: true });
        assert!(colored.contains("\x1b[2m    reasoning:"), "{colored}");
    }

    #[test]
    fn tool_calls_and_results_read_as_arrows() {
        let mut t = transcript();
        t.session.tool_calls = 2;
        let call = |id: &str, name: &str, arguments: &str| StoredToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        };
        let first = &mut t.turns[0];
        first.content = Some(String::new());
        first.finish_reason = Some("tool_calls".into());
        first.tool_calls = vec![
            call("call_1", "get_weather", r#"{ "city": "Paris" }"#),
            call("call_2", "get_time", "not json"),
        ];
        let second = &mut t.turns[1];
        second.messages = vec![
            StoredMessage {
                tool_call_id: Some("call_1".into()),
                name: Some("get_weather".into()),
                ..StoredMessage::text("tool", "sunny\n21 °C")
            },
            StoredMessage {
                tool_call_id: Some("call_2".into()),
                ..StoredMessage::text("tool", "noon")
            },
        ];
        second.content = Some("It is sunny.".into());
        second.status = Some("ok".into());
        second.upstream_turns = Some(serde_json::json!([{}, {}]));
        let text = render(&t, 0, Paint { color: false });
        assert!(text.contains("  tools    2 calls\n"), "{text}");
        assert!(
            text.contains(
                "assistant:\n→ get_weather({\"city\":\"Paris\"})\n→ get_time(not json)\n\
                 [ok · tool_calls · "
            ),
            "{text}"
        );
        assert!(
            text.contains("← get_weather: sunny\n  21 °C\n\n← call_2: noon\n\nassistant:\n"),
            "{text}"
        );
        assert!(text.contains("[ok · 2 upstream turns · "), "{text}");
        assert!(!text.contains("tool:"), "{text}");
    }

    #[test]
    fn stored_escape_sequences_and_bidi_overrides_are_shown_not_obeyed() {
        const EVIL: &str = "\x1b]0;owned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\u{202e}\u{9b}\r";
        let evil = |s: &str| format!("{s}{EVIL}");
        let mut t = transcript();
        t.session.title = evil("title");
        t.session.id = evil("id");
        t.session.model = evil("model");
        t.session.chat_id = evil("chat");
        let first = &mut t.turns[0];
        first.messages = vec![
            StoredMessage::text(evil("role"), evil("hello")),
            StoredMessage {
                name: Some(evil("tool")),
                ..StoredMessage::text("tool", evil("result\nline"))
            },
        ];
        first.reasoning = Some(evil("thinking"));
        first.content = Some(evil("answer"));
        first.tool_calls = vec![StoredToolCall {
            id: "call_1".into(),
            name: evil("fn"),
            arguments: evil("args"),
        }];
        first.status = Some(evil("ok"));
        first.finish_reason = Some(evil("stop"));
        first.model = evil("model");
        for color in [false, true] {
            let text = render(&t, 0, Paint { color });
            let raw: Vec<char> = text
                .chars()
                .filter(|&c| {
                    (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)
                })
                .collect();
            // Colour adds its own SGR codes, and nothing else may reach the terminal.
            let allowed = text.matches("\x1b[").count();
            assert_eq!(raw.iter().filter(|&&c| c != '\x1b').count(), 0, "{text:?}");
            assert_eq!(raw.len(), allowed, "{text:?}");
            assert!(!text.contains("\x1b]"), "{text:?}");
            assert!(text.contains("title␛]0;owned␇␛[2J␛]52;c;ZXZpbA==␇<U+202E><U+009B>␍"));
            for part in ["hello", "line", "thinking", "answer", "fn", "args", "stop"] {
                assert!(text.contains(&format!("{part}␛]0;owned")), "{part}: {text}");
            }
            if !color {
                assert_eq!(allowed, 0);
            }
        }
    }
}
