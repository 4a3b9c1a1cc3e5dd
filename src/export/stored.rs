//! Sessions read from the store for export, one at a time.
//!
//! The caller names the sessions, or asks for all of them; all are paged through in
//! creation order, newest first, [`PAGE`] keys at a time, so an archive of any size exports
//! in constant memory. Each session is read in one short read transaction (its transcript
//! and conversation together, in one pass), written and dropped before the next, so a long
//! export never holds a snapshot that keeps WAL checkpoints from completing. Every format
//! carries a session's conversation as the store rebuilds it — the full history of its
//! latest answered request plus that answer, oldest first — not the deduplicated rows.

use std::collections::HashMap;
use std::io::Write;

use indicatif::ProgressBar;

use super::{About, Exported, Format, Message, Sink, ToolCall};
use crate::store::{Store, StoredMessage, StoredToolCall, Transcript};

/// Session keys read per page of an export of every session.
const PAGE: u32 = 256;

/// Which stored sessions an export writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// These, in this order.
    Ids(Vec<String>),
    /// Every session, newest first (by creation).
    All,
}

/// Writes the selected sessions to `out` in `format`, ticking `progress` once per session,
/// and returns how many were written. A session deleted since it was listed is simply no
/// longer there, and sessions created after an export of all began are not in it. Write
/// errors come back as the `io::Error` they are.
pub(crate) async fn write_sessions(
    store: &Store,
    selection: &Selection,
    format: Format,
    out: impl Write,
    progress: &ProgressBar,
) -> anyhow::Result<usize> {
    let mut sink = Sink::new(format, out);
    let mut written = 0_usize;
    match selection {
        Selection::Ids(ids) => {
            for id in ids {
                written += write_one(store, id, format, &mut sink).await?;
                progress.inc(1);
            }
        }
        Selection::All => {
            let mut after = None;
            loop {
                let page = store.sessions_by_creation(after.take(), PAGE).await?;
                for key in &page {
                    written += write_one(store, &key.id, format, &mut sink).await?;
                    progress.inc(1);
                }
                match page.into_iter().last() {
                    Some(last) => after = Some(last),
                    None => break,
                }
            }
        }
    }
    sink.finish()?;
    Ok(written)
}

/// Reads and writes one session; 1 if it was written, 0 when it no longer exists.
async fn write_one<W: Write>(
    store: &Store,
    id: &str,
    format: Format,
    sink: &mut Sink<W>,
) -> anyhow::Result<usize> {
    let Some(session) = load(store, id, format).await? else {
        return Ok(0);
    };
    sink.write(&session)?;
    Ok(1)
}

/// Reads what `format` needs of one session; `None` when it no longer exists.
async fn load(store: &Store, id: &str, format: Format) -> crate::store::Result<Option<Exported>> {
    let Some(read) = store.session_export(id).await? else {
        return Ok(None);
    };
    // The fine-tuning lines hold role and content only: no reasoning to attach.
    let transcript = (format != Format::Openai).then_some(&read.transcript);
    let messages = with_reasoning(read.conversation, transcript);
    Ok(Some(Exported {
        about: About::Stored(read.transcript.session),
        messages,
    }))
}

/// The conversation with each assistant answer's reasoning attached, found by matching the
/// answer (its text and its calls) to the turn that produced it.
fn with_reasoning(conversation: Vec<StoredMessage>, t: Option<&Transcript>) -> Vec<Message> {
    let reasoning: HashMap<(&str, &[StoredToolCall]), &str> = t
        .map(|t| {
            t.turns
                .iter()
                .filter_map(|turn| {
                    let content = turn.content.as_deref()?;
                    let reasoning = turn.reasoning.as_deref().filter(|r| !r.is_empty())?;
                    Some(((content, turn.tool_calls.as_slice()), reasoning))
                })
                .collect()
        })
        .unwrap_or_default();
    conversation
        .into_iter()
        .map(|m| {
            let reasoning = (m.role == "assistant")
                .then(|| {
                    let key = (m.content.as_str(), m.tool_calls.as_slice());
                    reasoning.get(&key).map(|r| (*r).to_owned())
                })
                .flatten();
            Message {
                tool_calls: m
                    .tool_calls
                    .iter()
                    .map(|c| ToolCall::new(&c.id, &c.name, &c.arguments))
                    .collect(),
                role: m.role,
                content: m.content,
                tool_call_id: m.tool_call_id,
                name: m.name,
                reasoning,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_is_matched_to_answers_only() {
        let conversation = vec![
            StoredMessage::text("user", "same"),
            StoredMessage::text("assistant", "same"),
        ];
        let About::Stored(session) = super::super::tests::exported("s").about else {
            unreachable!()
        };
        let mut t = Transcript {
            session,
            turns: Vec::new(),
        };
        t.turns.push(crate::store::Turn {
            request_id: "r".into(),
            received_at: 0,
            model: "m".into(),
            messages: Vec::new(),
            content: Some("same".into()),
            reasoning: Some("why".into()),
            tool_calls: Vec::new(),
            upstream_turns: None,
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

    #[test]
    fn answers_with_the_same_text_are_told_apart_by_their_calls() {
        let call = |name: &str| StoredToolCall {
            id: format!("call_{name}"),
            name: name.into(),
            arguments: "{}".into(),
        };
        let calling = |name: &str| StoredMessage {
            tool_calls: vec![call(name)],
            ..StoredMessage::text("assistant", "")
        };
        let About::Stored(session) = super::super::tests::exported("s").about else {
            unreachable!()
        };
        let turn = |name: &str, reasoning: &str| crate::store::Turn {
            request_id: name.into(),
            received_at: 0,
            model: "m".into(),
            messages: Vec::new(),
            content: Some(String::new()),
            reasoning: Some(reasoning.into()),
            tool_calls: vec![call(name)],
            upstream_turns: None,
            status: Some("ok".into()),
            finish_reason: Some("tool_calls".into()),
            prompt_tokens: None,
            completion_tokens: None,
            total_tokens: None,
        };
        let t = Transcript {
            session,
            turns: vec![turn("a", "first"), turn("b", "second")],
        };
        let messages = with_reasoning(vec![calling("b"), calling("a")], Some(&t));
        assert_eq!(messages[0].reasoning.as_deref(), Some("second"));
        assert_eq!(messages[1].reasoning.as_deref(), Some("first"));
        assert_eq!(messages[0].tool_calls[0].function.name, "b");
    }
}
