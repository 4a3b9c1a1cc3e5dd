//! The one export engine: conversations as JSON, JSON Lines, Markdown or OpenAI
//! fine-tuning lines, for `qwenctl sessions export` and the REPL's `/export` alike.
//!
//! Both hand over an [`Exported`] conversation — its messages, oldest first, and what is
//! known [`About`] it — and a [`Format`]; a [`Sink`] writes one after another. What a format
//! holds depends on what is exported:
//!
//! - a session from the store ([`About::Stored`]) is an archive record: id, title, model,
//!   times and messages with the reasoning of each answer. `json` is one array of records,
//!   written item by item; `jsonl` one record per line; `markdown` a transcript per session,
//!   separated by rules; `openai` one fine-tuning example (`{"messages": …}`) per line.
//!   [`write_sessions`] streams any number of them in constant memory, one short read per
//!   session (`stored.rs`);
//! - the REPL's conversation in progress ([`About::Live`]) has no record yet and is
//!   exported to be continued elsewhere, so `json` is one object with its session, model
//!   and OpenAI `{"role", "content"}` messages, and `jsonl` one message per line, either of
//!   which an OpenAI-compatible client (or `serve`) takes as a history.
//!
//! Tool calls are exported as such, never as the markers that carried them upstream: in
//! JSON, an assistant message's `tool_calls` in OpenAI's shape (`id`, `type`, `function`
//! with `name` and `arguments`) and a tool message's `tool_call_id` and `name` (the
//! fine-tuning lines leave out `name`, which OpenAI's tool messages do not have); in
//! Markdown, a "Tool call" line per call and a "Tool result" heading over a fenced result.
//!
//! Nothing here parses arguments or prints notes: the command files do, and they stay thin.
//! A write error (a closed pipe included) travels up as the plain `io::Error` it is, so
//! `… | head -1` stops quietly.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::output;
use crate::session;
use crate::store::SessionSummary;

mod markdown;
mod stored;

pub(crate) use stored::{Selection, write_sessions};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Jsonl,
    Markdown,
    /// OpenAI fine-tuning lines: role and content (and tool calls), no reasoning.
    Openai,
}

impl Format {
    /// The format for `path`'s extension (case-insensitive), if it is one we write.
    pub(crate) fn for_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// What the format is, for a terminal: Markdown is text for people, the rest JSON.
    pub(crate) fn content(self) -> output::Content {
        match self {
            Format::Markdown => output::Content::Text,
            Format::Json | Format::Jsonl | Format::Openai => output::Content::Json,
        }
    }
}

/// One conversation to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exported {
    pub about: About,
    pub messages: Vec<Message>,
}

/// What is known of an exported conversation besides its messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum About {
    /// A session recorded in the store.
    Stored(SessionSummary),
    /// The REPL's conversation in progress: its session once it has one, and the model
    /// as the user named it.
    Live {
        session_id: Option<String>,
        model: String,
    },
}

/// One message as exported.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Message {
    pub role: String,
    pub content: String,
    /// The calls an assistant message made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool a tool message answers for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The model's reasoning for an assistant answer, when it gave any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

/// A tool call in OpenAI's shape, `{"id", "type": "function", "function": {"name",
/// "arguments"}}`, so an exported history is one a client can send back as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ToolCall {
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: Function,
}

/// The function a [`ToolCall`] names, with its arguments as a JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Function {
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    pub(crate) fn new(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.to_owned(),
            kind: "function",
            function: Function {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            },
        }
    }
}

impl From<&session::Message> for Message {
    fn from(m: &session::Message) -> Message {
        Message {
            role: m.role.as_str().to_owned(),
            content: m.content.clone(),
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| ToolCall::new(&c.id, &c.name, &c.arguments))
                .collect(),
            tool_call_id: m.tool_call_id.clone(),
            name: m.name.clone(),
            reasoning: None,
        }
    }
}

impl Exported {
    /// The REPL's conversation: the whole history it sends, system prompt included.
    pub(crate) fn live(
        session_id: Option<&str>,
        model: &str,
        messages: &[session::Message],
    ) -> Exported {
        Exported {
            about: About::Live {
                session_id: session_id.map(str::to_owned),
                model: model.to_owned(),
            },
            messages: messages.iter().map(Message::from).collect(),
        }
    }
}

/// The `json`/`jsonl` record of a stored session.
#[derive(Serialize)]
struct Record<'a> {
    id: &'a str,
    title: &'a str,
    model: &'a str,
    created_at: i64,
    updated_at: i64,
    messages: &'a [Message],
}

impl<'a> Record<'a> {
    fn new(s: &'a SessionSummary, messages: &'a [Message]) -> Self {
        Record {
            id: &s.id,
            title: &s.title,
            model: &s.model,
            created_at: s.created_at,
            updated_at: s.updated_at,
            messages,
        }
    }
}

/// The `json` object of a conversation in progress.
#[derive(Serialize)]
struct Conversation<'a> {
    session_id: Option<&'a str>,
    model: &'a str,
    messages: &'a [Message],
}

/// An OpenAI fine-tuning example: role and content, plus the calls and call ids of a
/// tool-calling conversation.
#[derive(Serialize)]
struct FineTuning<'a> {
    messages: Vec<Plain<'a>>,
}

#[derive(Serialize)]
struct Plain<'a> {
    role: &'a str,
    content: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool_calls: &'a [ToolCall],
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

/// Writes conversations in one format, keeping what the format needs between them (the
/// `json` array's brackets and commas, Markdown's separators).
pub(crate) struct Sink<W: Write> {
    format: Format,
    out: W,
    written: usize,
    /// Whether the `json` array of stored sessions was opened (and so needs closing).
    array: bool,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(format: Format, out: W) -> Self {
        Sink {
            format,
            out,
            written: 0,
            array: false,
        }
    }

    pub(crate) fn write(&mut self, e: &Exported) -> io::Result<()> {
        let first = self.written == 0;
        self.written += 1;
        let out = &mut self.out;
        match (self.format, &e.about) {
            (Format::Json, About::Stored(s)) => {
                out.write_all(if self.array { b",\n" } else { b"[\n" })?;
                self.array = true;
                let item = serde_json::to_vec_pretty(&Record::new(s, &e.messages))
                    .map_err(io::Error::from)?;
                out.write_all(&item)
            }
            (Format::Json, About::Live { session_id, model }) => {
                let object = Conversation {
                    session_id: session_id.as_deref(),
                    model,
                    messages: &e.messages,
                };
                let mut text = serde_json::to_vec_pretty(&object).map_err(io::Error::from)?;
                text.push(b'\n');
                out.write_all(&text)
            }
            (Format::Jsonl, About::Stored(s)) => {
                output::json_line(out, &Record::new(s, &e.messages))
            }
            (Format::Jsonl, About::Live { .. }) => e
                .messages
                .iter()
                .try_for_each(|m| output::json_line(out, m)),
            (Format::Openai, _) => {
                let messages = e
                    .messages
                    .iter()
                    .map(|m| Plain {
                        role: &m.role,
                        content: &m.content,
                        tool_calls: &m.tool_calls,
                        tool_call_id: m.tool_call_id.as_deref(),
                    })
                    .collect();
                output::json_line(out, &FineTuning { messages })
            }
            (Format::Markdown, _) => {
                if !first {
                    out.write_all(b"\n---\n\n")?;
                }
                out.write_all(markdown::render(e).as_bytes())
            }
        }
    }

    /// Closes the `json` array (an export of no sessions is `[]`) and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.format == Format::Json {
            if self.array {
                self.out.write_all(b"\n]\n")?;
            } else if self.written == 0 {
                self.out.write_all(b"[]\n")?;
            }
        }
        self.out.flush()
    }
}

/// Writes one conversation to the file at `path` (created or truncated) in `format`.
pub(crate) fn write_file(path: &Path, format: Format, e: &Exported) -> io::Result<()> {
    let mut sink = Sink::new(format, output::writer(Some(path), format.content())?);
    sink.write(e)?;
    sink.finish()
}

#[cfg(test)]
mod tests;
