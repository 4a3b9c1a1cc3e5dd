//! `qwenctl sessions show ID`: one session as a readable transcript, or its [`Transcript`]
//! as JSON.
//!
//! Each turn shows the messages the client added, then the model's reasoning set apart as
//! an indented block (dim on a colour terminal), then the answer and what it cost. Turns
//! without a recorded answer (failed, still running) say so instead of leaving a gap.

use std::fmt::Write as _;

use clap::Args;

use super::not_found;
use crate::context::Ctx;
use crate::output::{self, Age, Paint, ago, timestamp};
use crate::store::{Transcript, Turn};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id
    pub id: String,
    /// Print JSON instead of a transcript
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ShowArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.store()?;
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
    let _ = writeln!(out, "{}", paint.bold(&s.title));
    let _ = writeln!(out, "  session  {}", s.id);
    let _ = writeln!(out, "  model    {}", s.model);
    let _ = writeln!(out, "  chat id  {}", s.chat_id);
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
        let _ = writeln!(out, "{}", paint.bold(&format!("{}:", message.role)));
        let _ = writeln!(out, "{}", message.content.trim_end());
        out.push('\n');
    }
    if let Some(reasoning) = turn.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
        let mut block = String::from("    reasoning:\n");
        for line in reasoning.trim_end().lines() {
            let _ = writeln!(block, "    │ {line}");
        }
        let _ = writeln!(out, "{}", paint.dim(block.trim_end()));
        out.push('\n');
    }
    match turn.content.as_deref().filter(|c| !c.is_empty()) {
        Some(content) => {
            let _ = writeln!(out, "{}", paint.bold("assistant:"));
            let _ = writeln!(out, "{}", content.trim_end());
        }
        None => {
            let _ = writeln!(out, "{}", paint.dim("(no answer recorded)"));
        }
    }
    let _ = writeln!(out, "{}", paint.dim(&status_line(turn)));
}

/// `[ok · stop · 12 prompt + 30 completion = 42 tokens · qwen3-max]`
fn status_line(turn: &Turn) -> String {
    let mut parts = vec![turn.status.clone().unwrap_or_else(|| "pending".to_owned())];
    if let Some(reason) = &turn.finish_reason {
        parts.push(reason.clone());
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
    format!("[{}]", parts.join(" · "))
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
                object: "session",
                id: "s1".into(),
                chat_id: "c1".into(),
                model: "qwen3-max".into(),
                title: "Hello there".into(),
                source: "serve".into(),
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
}
