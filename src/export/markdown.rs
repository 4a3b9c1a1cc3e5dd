//! One conversation as Markdown: a title, a list of details, then each message under a
//! heading, the reasoning of an answer quoted before it.
//!
//! A stored session is titled by its own title and lists its id, model and times; its
//! messages are headed by their role in bold. The REPL's conversation in progress is a
//! chat between "You" and "Qwen", headed as sections.

use std::fmt::Write as _;

use super::{About, Exported};
use crate::output::{self, Fit};

/// Characters of a session title in the `#` heading.
const TITLE_WIDTH: usize = 120;

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
        let _ = writeln!(md, "\n{}\n", heading(&e.about, &m.role));
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
        let _ = writeln!(md, "{}", m.content.trim_end());
    }
    md
}

/// The line above a message: `**user**` in an archive, `## You` in a chat.
fn heading(about: &About, role: &str) -> String {
    match about {
        About::Stored(_) => format!("**{role}**"),
        About::Live { .. } => {
            let who = match role {
                "system" | "developer" => "System",
                "user" => "You",
                "assistant" => "Qwen",
                "tool" => "Tool",
                other => other,
            };
            format!("## {who}")
        }
    }
}
