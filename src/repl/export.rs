//! `/export FILE`: the current conversation as Markdown, JSON or JSON Lines, chosen by the
//! file's extension.
//!
//! The JSON shapes use OpenAI's `{"role", "content"}` messages, so an export can be fed
//! straight back to any OpenAI-compatible client (or to `serve`) to continue it there.

use std::path::Path;

use serde_json::{Value, json};

use crate::session::{Message, Role};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Jsonl,
}

impl Format {
    /// The format for `path`'s extension (case-insensitive), if it is one we write.
    pub fn for_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// What is exported.
#[derive(Debug, Clone, Copy)]
pub struct Export<'a> {
    pub session_id: Option<&'a str>,
    pub model: &'a str,
    /// The whole history including the system prompt.
    pub messages: &'a [Message],
}

/// The file's contents.
pub fn render(format: Format, export: &Export<'_>) -> String {
    match format {
        Format::Markdown => markdown(export),
        Format::Json => {
            let object = json!({
                "session_id": export.session_id,
                "model": export.model,
                "messages": export.messages.iter().map(message).collect::<Vec<_>>(),
            });
            let mut text = serde_json::to_string_pretty(&object).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Jsonl => export
            .messages
            .iter()
            .map(|m| format!("{}\n", message(m)))
            .collect(),
    }
}

fn message(m: &Message) -> Value {
    json!({"role": m.role.as_str(), "content": m.content})
}

fn markdown(export: &Export<'_>) -> String {
    let mut out = String::from("# Conversation\n\n");
    out.push_str(&format!("- model: `{}`\n", export.model));
    if let Some(id) = export.session_id {
        out.push_str(&format!("- session: `{id}`\n"));
    }
    for m in export.messages {
        let heading = match m.role {
            Role::System | Role::Developer => "System",
            Role::User => "You",
            Role::Assistant => "Qwen",
            Role::Tool => "Tool",
        };
        out.push_str(&format!("\n## {heading}\n\n{}\n", m.content.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Message> {
        vec![
            Message {
                role: Role::System,
                content: "be brief".into(),
            },
            Message {
                role: Role::User,
                content: "my name is Alice".into(),
            },
            Message {
                role: Role::Assistant,
                content: "Hi \"Alice\".\n".into(),
            },
        ]
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
        let export = Export {
            session_id: Some("s1"),
            model: "qwen3-max",
            messages: &messages,
        };
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
}
