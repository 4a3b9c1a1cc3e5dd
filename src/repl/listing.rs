//! The tables the REPL prints for `/sessions` and `/models`. A session's `TOOLS` column
//! counts the tool calls its answers made (`-` for none).

use std::io;

use tabled::Tabled;

use crate::output::{self, Age, Fit};
use crate::qwen::Model;
use crate::store::SessionSummary;

/// Characters of a session title shown in the table.
const TITLE_CHARS: usize = 40;

#[derive(Tabled)]
struct SessionRow {
    #[tabled(rename = "ID")]
    id: String,
    #[tabled(rename = "UPDATED")]
    updated: String,
    #[tabled(rename = "MODEL")]
    model: String,
    #[tabled(rename = "FROM")]
    source: String,
    #[tabled(rename = "TURNS")]
    turns: i64,
    #[tabled(rename = "TOOLS")]
    tools: String,
    #[tabled(rename = "TITLE")]
    title: String,
}

/// Recent sessions, the current one marked with `*`.
pub fn sessions(rows: &[SessionSummary], current: Option<&str>, now_ms: i64) -> io::Result<()> {
    output::table(
        rows.iter().map(|s| SessionRow {
            id: if current == Some(s.id.as_str()) {
                format!("{} *", s.id)
            } else {
                s.id.clone()
            },
            updated: output::ago(s.updated_at, now_ms, Age::Short),
            model: s.model.clone(),
            source: s.source.clone(),
            turns: s.turns,
            tools: if s.tool_calls > 0 {
                s.tool_calls.to_string()
            } else {
                "-".to_owned()
            },
            title: output::shorten(&s.title, TITLE_CHARS, Fit::FirstLine),
        }),
        "No sessions yet.",
    )
}

#[derive(Tabled)]
struct ModelRow {
    #[tabled(rename = "MODEL")]
    name: String,
    #[tabled(rename = "THINKING")]
    thinking: &'static str,
    #[tabled(rename = "SEARCH")]
    search: &'static str,
    #[tabled(rename = "CONTEXT")]
    context: String,
}

/// The upstream models, the current one marked with `*`.
pub fn models(models: &[Model], current: &str) -> io::Result<()> {
    let yes = |b: bool| if b { "yes" } else { "-" };
    output::table(
        models.iter().map(|m| ModelRow {
            name: if m.id == current {
                format!("{} *", m.id)
            } else {
                m.id.clone()
            },
            thinking: yes(m.capabilities.thinking),
            search: yes(m.capabilities.search),
            context: m
                .context_length
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        }),
        "The upstream lists no models.",
    )
}
