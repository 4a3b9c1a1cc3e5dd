//! `/export FILE`: the current conversation as Markdown, JSON or JSON Lines, chosen by the
//! file's extension.
//!
//! The JSON shapes use OpenAI's `{"role", "content"}` messages, so an export can be fed
//! straight back to any OpenAI-compatible client (or to `serve`) to continue it there. The
//! formats are [`crate::export`]'s, shared with `qwenctl sessions export`; this file picks
//! one and says how it went.

use std::path::Path;

use crate::export::{self, Exported, Format};

use super::conversation::Conversation;
use super::render::{self, note};

/// Writes `conv` to `path`, in the format its extension names; the outcome is a note or an
/// error line, and the REPL goes on either way.
pub fn run(conv: &Conversation, path: &Path) {
    let Some(format) = Format::for_path(path) else {
        render::error(&format!(
            "cannot tell the format of {}: use a name ending in .md, .json or .jsonl",
            path.display()
        ));
        return;
    };
    if conv.messages.is_empty() {
        note("nothing to export yet");
        return;
    }
    let messages = conv.request(None);
    let exported = Exported::live(conv.session_id.as_deref(), &conv.model.name, &messages);
    match export::write_file(path, format, &exported) {
        Ok(()) => note(&format!(
            "exported {} messages to {}",
            messages.len(),
            path.display()
        )),
        Err(err) => render::error(&format!("cannot write {}: {err}", path.display())),
    }
}
