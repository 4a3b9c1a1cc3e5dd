//! One conversation as Markdown: a title, a list of details, then each message under a
//! heading, the reasoning of an answer quoted before it.
//!
//! A stored session is titled by its own title and lists its id, model and times; its
//! messages are headed by their role in bold. The REPL's conversation in progress is a
//! chat between "You" and "Qwen", headed as sections. Tool calls read as such: each call of
//! an answer is a "**Tool call**" line with its name and arguments (a code span, or a fenced
//! JSON block when they are long), and a tool message is headed "Tool result" with the tool
//! and the call it answers, its content fenced so that nothing in it reads as Markdown.

use std::fmt::Write as _;

use super::{About, Exported, Message, ToolCall};
use crate::output::{self, Fit};

/// Characters of a session title in the `#` heading.
const TITLE_WIDTH: usize = 120;
/// Arguments longer than this (compact) go in a fenced block rather than a code span.
const INLINE_ARGUMENTS: usize = 80;

/// `e` as Markdown, ending in a newline.
pub(super) fn render(e: &Exported) -> String {
    let mut md = String::new();
    match &e.about {
        About::Stored(s) => {
            let title = match output::shorten(&s.title, TITLE_WIDTH, Fit::Width) {
                t if t.is_empty() => "Untitled session".to_owned(),
                t => t,
            };
            let _ = writeln!(md, "# {title}\n");
            let _ = writeln!(md, "- session: `{}`", s.id);
            let _ = writeln!(md, "- model: {}", s.model);
            let _ = writeln!(md, "- created: {}", output::timestamp(s.created_at));
            let _ = writeln!(md, "- last active: {}", output::timestamp(s.updated_at));
        }
        About::Live { session_id, model } => {
            md.push_str("# Conversation\n\n");
            let _ = writeln!(md, "- model: `{model}`");
            if let Some(id) = session_id {
                let _ = writeln!(md, "- session: `{id}`");
            }
        }
    }
    for m in &e.messages {
        let _ = writeln!(md, "\n{}\n", heading(&e.about, m));
        if let Some(reasoning) = &m.reasoning {
            md.push_str("> *reasoning*\n>\n");
            for line in reasoning.trim_end().lines() {
                md.push('>');
                if !line.is_empty() {
                    md.push(' ');
                    md.push_str(line);
                }
                md.push('\n');
            }
            md.push('\n');
        }
        if m.role == "tool" {
            md.push_str(&fenced(m.content.trim_end(), language(&m.content)));
            continue;
        }
        let text = m.content.trim_end();
        if !text.is_empty() || m.tool_calls.is_empty() {
            let _ = writeln!(md, "{text}");
        }
        for (n, call) in m.tool_calls.iter().enumerate() {
            if n > 0 || !text.is_empty() {
                md.push('\n');
            }
            md.push_str(&tool_call(call));
        }
    }
    md
}

/// The line above a message: `**user**` in an archive, `## You` in a chat; a tool message
/// says which tool and call it answers either way.
fn heading(about: &About, m: &Message) -> String {
    if m.role == "tool" {
        let what = match (&m.name, &m.tool_call_id) {
            (Some(name), Some(id)) => format!(" (`{name}`, {id})"),
            (Some(name), None) => format!(" (`{name}`)"),
            (None, Some(id)) => format!(" ({id})"),
            (None, None) => String::new(),
        };
        return match about {
            About::Stored(_) => format!("**Tool result**{what}"),
            About::Live { .. } => format!("## Tool result{what}"),
        };
    }
    match about {
        About::Stored(_) => format!("**{}**", m.role),
        About::Live { .. } => {
            let who = match m.role.as_str() {
                "system" | "developer" => "System",
                "user" => "You",
                "assistant" => "Qwen",
                other => other,
            };
            format!("## {who}")
        }
    }
}

/// ``**Tool call** `name` `{"a":1}` ``, or the arguments pretty-printed in a fenced block
/// below when they are long or would break a code span. Ends in a newline.
fn tool_call(call: &ToolCall) -> String {
    let f = &call.function;
    let parsed = serde_json::from_str::<serde_json::Value>(&f.arguments).ok();
    let compact = parsed
        .as_ref()
        .map_or_else(|| f.arguments.trim().to_owned(), ToString::to_string);
    let line = format!("**Tool call** `{}`", f.name);
    if compact.len() <= INLINE_ARGUMENTS && !compact.contains(['`', '\n']) {
        return format!("{line} `{compact}`\n");
    }
    let (body, lang) = match &parsed {
        Some(v) => (
            serde_json::to_string_pretty(v).unwrap_or(compact),
            Some("json"),
        ),
        None => (f.arguments.trim_end().to_owned(), None),
    };
    format!("{line}\n\n{}", fenced(&body, lang))
}

/// `text` in a code fence longer than any run of backticks inside it, ending in a newline.
fn fenced(text: &str, lang: Option<&str>) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let lang = lang.unwrap_or("");
    if text.is_empty() {
        return format!("{fence}{lang}\n{fence}\n");
    }
    format!("{fence}{lang}\n{text}\n{fence}\n")
}

/// `json` for a result that is a JSON object or array, so it is highlighted as such.
fn language(content: &str) -> Option<&'static str> {
    let v = serde_json::from_str::<serde_json::Value>(content).ok()?;
    (v.is_object() || v.is_array()).then_some("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fenced("sunny", None), "```\nsunny\n```\n");
        assert_eq!(fenced("a ```` b", Some("x")), "`````x\na ```` b\n`````\n");
        assert_eq!(fenced("", None), "```\n```\n");
    }

    #[test]
    fn short_arguments_are_a_code_span_long_ones_a_json_block() {
        let short = ToolCall::new("call_1", "get_weather", r#"{ "city": "Paris" }"#);
        assert_eq!(
            tool_call(&short),
            "**Tool call** `get_weather` `{\"city\":\"Paris\"}`\n"
        );
        let text = "x".repeat(100);
        let long = ToolCall::new("call_2", "write", &format!(r#"{{"text":"{text}"}}"#));
        assert_eq!(
            tool_call(&long),
            format!("**Tool call** `write`\n\n```json\n{{\n  \"text\": \"{text}\"\n}}\n```\n")
        );
        let tick = ToolCall::new("call_3", "sh", r#"{"cmd":"echo `date`"}"#);
        assert!(
            tool_call(&tick).contains("```json\n"),
            "{}",
            tool_call(&tick)
        );
    }
}
