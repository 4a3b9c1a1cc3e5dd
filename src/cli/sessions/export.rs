//! `qwenctl sessions export`: sessions as JSON, JSON Lines, Markdown or OpenAI
//! fine-tuning lines, to stdout or a file.
//!
//! Exports are streamed: the store hands over the ids first, then one session at a time is
//! read, written and dropped, so an archive of any size exports in constant memory (the
//! `json` array is opened, filled item by item and closed). Every format carries a
//! session's conversation as the store rebuilds it — the full history of its latest
//! answered request plus that answer, oldest first — not the deduplicated rows. A write
//! error (a closed pipe included) ends the export at once and travels up unchanged, so
//! `… | head -1` stops quietly.

use std::collections::{HashMap, HashSet};
use std::io::{self, IsTerminal as _, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::not_found;
use crate::context::Ctx;
use crate::error::UsageError;
use crate::output::{self, Fit, shorten, timestamp};
use crate::store::{ListQuery, SessionSummary, Store, StoredMessage, Transcript};

/// Exports of more sessions than this get a progress bar (on a terminal).
const PROGRESS_THRESHOLD: usize = 10;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Markdown,
    Openai,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Session ids to export
    pub ids: Vec<String>,
    /// Export every session
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub async fn run(args: ExportArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let ids = session_ids(&store, &args).await?;
    let out = output::writer(args.output.as_deref()).with_context(|| {
        let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
        format!("cannot create {}", path.display())
    })?;
    let progress = progress_bar(ids.len(), args.output.is_some(), ctx.quiet);
    let mut sink = Sink::new(args.format, out);
    let mut exported = 0_usize;
    for id in &ids {
        // A session deleted since the ids were read is simply no longer there.
        if let Some(session) = load(&store, id, args.format).await? {
            sink.write(&session)?;
            exported += 1;
        }
        progress.inc(1);
    }
    sink.finish()?;
    progress.finish_and_clear();
    if let Some(path) = &args.output {
        tracing::info!("exported {exported} sessions to {}", path.display());
    }
    Ok(())
}

/// The sessions to export, newest first for `--all`, in the given order otherwise.
/// Unknown ids fail before anything is written.
async fn session_ids(store: &Store, args: &ExportArgs) -> anyhow::Result<Vec<String>> {
    if args.all {
        let every = ListQuery {
            limit: u32::MAX,
            ..ListQuery::default()
        };
        return Ok(store.session_ids(&every).await?);
    }
    if args.ids.is_empty() {
        return Err(UsageError(
            "name the sessions to export, or pass --all (see `qwenctl sessions list`)".into(),
        )
        .into());
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for id in &args.ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if store.get_session(id).await?.is_none() {
            return Err(not_found(id));
        }
        ids.push(id.clone());
    }
    Ok(ids)
}

/// A bar on stderr only where someone watches it: stderr is a terminal that the data is
/// not also going to, the export is long enough to wait for, and `--quiet` is off.
fn progress_bar(len: usize, to_file: bool, quiet: bool) -> ProgressBar {
    let watched = io::stderr().is_terminal() && (to_file || !output::stdout_is_terminal());
    if quiet || !watched || len <= PROGRESS_THRESHOLD {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} exporting {bar:30} {pos}/{len} sessions ({eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(u64::try_from(len).unwrap_or(u64::MAX)).with_style(style)
}

/// One session ready to write.
struct Exported {
    session: SessionSummary,
    messages: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Message {
    role: String,
    content: String,
    /// The model's reasoning for an assistant answer, when it gave any.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<String>,
}

/// Reads what `format` needs of one session; `None` when it no longer exists.
async fn load(store: &Store, id: &str, format: ExportFormat) -> anyhow::Result<Option<Exported>> {
    let Some(conversation) = store.conversation(id).await? else {
        return Ok(None);
    };
    if let ExportFormat::Openai = format {
        // Role and content only: no reasoning to look up.
        let Some(session) = store.get_session(id).await? else {
            return Ok(None);
        };
        let messages = with_reasoning(conversation, None);
        return Ok(Some(Exported { session, messages }));
    }
    let Some(transcript) = store.transcript(id).await? else {
        return Ok(None);
    };
    let messages = with_reasoning(conversation, Some(&transcript));
    Ok(Some(Exported {
        session: transcript.session,
        messages,
    }))
}

/// The conversation with each assistant answer's reasoning attached, found by matching the
/// answer to the turn that produced it.
fn with_reasoning(conversation: Vec<StoredMessage>, t: Option<&Transcript>) -> Vec<Message> {
    let reasoning: HashMap<&str, &str> = t
        .map(|t| {
            t.turns
                .iter()
                .filter_map(|turn| {
                    let content = turn.content.as_deref()?;
                    let reasoning = turn.reasoning.as_deref().filter(|r| !r.is_empty())?;
                    Some((content, reasoning))
                })
                .collect()
        })
        .unwrap_or_default();
    conversation
        .into_iter()
        .map(|m| {
            let reasoning = (m.role == "assistant")
                .then(|| reasoning.get(m.content.as_str()).map(|r| (*r).to_owned()))
                .flatten();
            Message {
                role: m.role,
                content: m.content,
                reasoning,
            }
        })
        .collect()
}

/// The `json`/`jsonl` record of a session.
#[derive(Serialize)]
struct Record<'a> {
    id: &'a str,
    title: &'a str,
    model: &'a str,
    created_at: i64,
    updated_at: i64,
    messages: &'a [Message],
}

impl<'a> From<&'a Exported> for Record<'a> {
    fn from(e: &'a Exported) -> Self {
        Record {
            id: &e.session.id,
            title: &e.session.title,
            model: &e.session.model,
            created_at: e.session.created_at,
            updated_at: e.session.updated_at,
            messages: &e.messages,
        }
    }
}

/// An OpenAI fine-tuning example: role and content only.
#[derive(Serialize)]
struct FineTuning<'a> {
    messages: Vec<Plain<'a>>,
}

#[derive(Serialize)]
struct Plain<'a> {
    role: &'a str,
    content: &'a str,
}

/// Writes sessions in one format, keeping what the format needs between them (the `json`
/// array's brackets and commas, Markdown's separators).
struct Sink<W: Write> {
    format: ExportFormat,
    out: W,
    written: usize,
}

impl<W: Write> Sink<W> {
    fn new(format: ExportFormat, out: W) -> Self {
        Sink {
            format,
            out,
            written: 0,
        }
    }

    fn write(&mut self, e: &Exported) -> io::Result<()> {
        let first = self.written == 0;
        self.written += 1;
        let out = &mut self.out;
        match self.format {
            ExportFormat::Json => {
                out.write_all(if first { b"[\n" } else { b",\n" })?;
                let item = serde_json::to_vec_pretty(&Record::from(e)).map_err(io::Error::from)?;
                out.write_all(&item)
            }
            ExportFormat::Jsonl => json_line(out, &Record::from(e)),
            ExportFormat::Openai => {
                let messages = e
                    .messages
                    .iter()
                    .map(|m| Plain {
                        role: &m.role,
                        content: &m.content,
                    })
                    .collect();
                json_line(out, &FineTuning { messages })
            }
            ExportFormat::Markdown => {
                if !first {
                    out.write_all(b"\n---\n\n")?;
                }
                out.write_all(markdown(e).as_bytes())
            }
        }
    }

    /// Closes the `json` array (an empty export is `[]`) and flushes.
    fn finish(mut self) -> io::Result<()> {
        if let ExportFormat::Json = self.format {
            let end: &[u8] = if self.written == 0 { b"[]\n" } else { b"\n]\n" };
            self.out.write_all(end)?;
        }
        self.out.flush()
    }
}

/// `value` as one line of JSON. Serialized before writing so that a write error reaches
/// the caller as the plain `io::Error` it is (serde_json would bury a `BrokenPipe` where
/// the exit-code mapper cannot see it).
fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::from)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// One session as Markdown: a title, its details, then each message under its role, the
/// reasoning of an answer quoted before it.
fn markdown(e: &Exported) -> String {
    use std::fmt::Write as _;
    let s = &e.session;
    let title = match shorten(&s.title, 120, Fit::Width) {
        t if t.is_empty() => "Untitled session".to_owned(),
        t => t,
    };
    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n");
    let _ = writeln!(md, "- session: `{}`", s.id);
    let _ = writeln!(md, "- model: {}", s.model);
    let _ = writeln!(md, "- created: {}", timestamp(s.created_at));
    let _ = writeln!(md, "- last active: {}", timestamp(s.updated_at));
    for m in &e.messages {
        let _ = writeln!(md, "\n**{}**\n", m.role);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exported(id: &str) -> Exported {
        let msg = |role: &str, content: &str, reasoning: Option<&str>| Message {
            role: role.into(),
            content: content.into(),
            reasoning: reasoning.map(str::to_owned),
        };
        Exported {
            session: SessionSummary {
                object: "session",
                id: id.into(),
                chat_id: "c".into(),
                model: "qwen3-max".into(),
                title: "Hi there".into(),
                source: "serve".into(),
                created_at: 0,
                updated_at: 1000,
                turns: 1,
                prompt_tokens: 1,
                completion_tokens: 1,
                total_tokens: 2,
            },
            messages: vec![
                msg("user", "hi", None),
                msg("assistant", "hello", Some("think\nmore")),
            ],
        }
    }

    fn export(format: ExportFormat, n: usize) -> String {
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
        assert_eq!(export(ExportFormat::Json, 0), "[]\n");
        let all: serde_json::Value = serde_json::from_str(&export(ExportFormat::Json, 3)).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 3);
        assert_eq!(all[2]["id"], "s2");
        assert_eq!(all[0]["messages"][1]["reasoning"], "think\nmore");
        assert!(all[0]["messages"][0].get("reasoning").is_none());
    }

    #[test]
    fn openai_lines_carry_role_and_content_only() {
        let text = export(ExportFormat::Openai, 2);
        let lines: Vec<serde_json::Value> = text
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
        let text = export(ExportFormat::Markdown, 2);
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

    #[test]
    fn reasoning_is_matched_to_answers_only() {
        let conversation = vec![
            StoredMessage {
                role: "user".into(),
                content: "same".into(),
            },
            StoredMessage {
                role: "assistant".into(),
                content: "same".into(),
            },
        ];
        let mut t = Transcript {
            session: exported("s").session,
            turns: Vec::new(),
        };
        t.turns.push(crate::store::Turn {
            request_id: "r".into(),
            received_at: 0,
            model: "m".into(),
            messages: Vec::new(),
            content: Some("same".into()),
            reasoning: Some("why".into()),
            status: Some("ok".into()),
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
            total_tokens: None,
        });
        let messages = with_reasoning(conversation, Some(&t));
        assert_eq!(messages[0].reasoning, None);
        assert_eq!(messages[1].reasoning.as_deref(), Some("why"));
    }
}
