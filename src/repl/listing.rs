//! The tables the REPL prints for `/sessions` and `/models`.

use std::io;

use tabled::Tabled;

use crate::output;
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
            updated: ago(now_ms.saturating_sub(s.updated_at)),
            model: s.model.clone(),
            source: s.source.clone(),
            turns: s.turns,
            title: shorten(&s.title, TITLE_CHARS),
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

/// The first line of `text`, cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// A short age: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn ago(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(ago(-5), "0s ago");
        assert_eq!(ago(59_999), "59s ago");
        assert_eq!(ago(60_000), "1m ago");
        assert_eq!(ago(7_200_000), "2h ago");
        assert_eq!(ago(3 * 86_400_000), "3d ago");
    }

    #[test]
    fn titles_are_cut() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("one\ntwo", 10), "one…");
    }
}
