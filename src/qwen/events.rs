//! One SSE `data:` payload of a completion → zero or more typed [`QwenEvent`]s.
//!
//! The decoder is pure state, no I/O, so every rule of PROTOCOL.md §5 lives in one testable
//! place: which phases mean answer or reasoning, how cumulative `thinking_summary` snapshots
//! become deltas without repeats, when usage is worth reporting, and how the end of a body is
//! judged (finished, truncated or the "silent block" empty stream). Unknown event kinds,
//! phases and fields are ignored, because the upstream adds them every few weeks. Each
//! payload is read into the typed fields of [`super::payload`], not into a JSON tree.

use std::collections::VecDeque;

use serde_json::Value;

use super::classify::{classify_code, classify_json};
use super::payload::{CreatedFields, Delta, Payload, Snapshot};
use super::{Created, QwenError, QwenEvent, SearchResult, Usage};

/// What a payload meant for the stream as a whole.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep reading (events may have been queued).
    Continue,
    /// `data: [DONE]`: the body is over as far as we care.
    Done,
}

#[derive(Debug, Default)]
pub(crate) struct Decoder {
    /// Events decoded but not yet handed out.
    pub queue: VecDeque<QwenEvent>,
    /// The answer phase reported `finished`.
    pub finished: bool,
    /// Answer or reasoning text has been yielded (decides truncated vs. empty).
    pub saw_content: bool,
    /// `response_id` of candidate "0"; events of other candidates are dropped.
    primary_response_id: Option<String>,
    last_usage: Option<Usage>,
    last_search: Option<Vec<SearchResult>>,
    /// The joined thinking-summary snapshot as far as it has been yielded.
    summary_text: String,
    /// Every summary item ever yielded, to avoid repeats when a snapshot is not an extension.
    summary_items: Vec<String>,
}

impl Decoder {
    /// Decodes one SSE event (`event` name and `data` payload).
    pub fn handle(&mut self, event: &str, data: &str) -> Result<Step, QwenError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(Step::Continue);
        }
        if data == "[DONE]" {
            return Ok(Step::Done);
        }
        let payload: Payload<'_> = match serde_json::from_str(data) {
            Ok(payload) => payload,
            Err(_) if event == "error" => {
                return Err(classify_code(None, Some(data), None));
            }
            Err(_) => {
                // Not worth failing a stream for: the upstream has sent odd keep-alive lines
                // before. The content is not logged (it may be user text).
                tracing::debug!(len = data.len(), "ignoring a non-JSON SSE payload");
                return Ok(Step::Continue);
            }
        };
        if payload.may_be_failure
            && let Ok(json) = serde_json::from_str::<Value>(data)
            && let Some(err) = classify_json(&json)
        {
            return Err(err);
        }
        if let Some(created) = &payload.created {
            self.created(created);
        } else if payload.info {
            self.queue.push_back(QwenEvent::KeepAlive);
        } else if payload.has_choices || payload.has_usage {
            if self.is_other_candidate(&payload) {
                return Ok(Step::Continue);
            }
            self.delta(payload);
        }
        Ok(Step::Continue)
    }

    /// Lets go of everything it holds (after an error ended the stream); the verdict flags
    /// stay.
    pub fn release(&mut self) {
        self.queue = VecDeque::new();
        self.last_search = None;
        self.summary_text = String::new();
        self.summary_items = Vec::new();
    }

    /// The body ended (or `[DONE]` arrived): `Ok(())` when the turn is complete.
    pub fn end(&self) -> Result<(), QwenError> {
        if self.finished {
            Ok(())
        } else if self.saw_content {
            Err(QwenError::Truncated)
        } else {
            Err(QwenError::EmptyStream)
        }
    }

    fn created(&mut self, created: &CreatedFields<'_>) {
        if !created.primary {
            return;
        }
        let text = |t: &Option<std::borrow::Cow<'_, str>>| t.as_deref().map(str::to_owned);
        let response_id = text(&created.response_id).unwrap_or_default();
        if !response_id.is_empty() {
            self.primary_response_id = Some(response_id.clone());
        }
        self.queue.push_back(QwenEvent::Created(Created {
            chat_id: text(&created.chat_id).unwrap_or_default(),
            parent_id: text(&created.parent_id).filter(|p| !p.is_empty()),
            response_id,
        }));
    }

    fn is_other_candidate(&self, payload: &Payload<'_>) -> bool {
        match (&self.primary_response_id, payload.response_id.as_deref()) {
            (Some(primary), Some(id)) => primary != id,
            _ => false,
        }
    }

    fn delta(&mut self, payload: Payload<'_>) {
        let Payload { delta, usage, .. } = payload;
        let Delta {
            phase,
            content,
            status,
            extra,
        } = delta.unwrap_or_default();
        // Without `output_schema: "phase"` the upstream omits the phase; the text is the answer.
        let phase = phase.as_deref().unwrap_or("answer");
        let content = content.as_deref().unwrap_or_default();
        let finished = status.as_deref() == Some("finished");
        let (summary, search) = extra.map_or((None, None), |e| (e.summary, e.search));
        match phase {
            "answer" if !content.is_empty() => {
                self.saw_content = true;
                self.queue.push_back(QwenEvent::Answer(content.to_owned()));
            }
            "think" if !content.is_empty() => {
                self.saw_content = true;
                self.queue
                    .push_back(QwenEvent::Thinking(content.to_owned()));
            }
            "thinking_summary" => match summary {
                Some(snapshot) => self.summary_snapshot(snapshot),
                None if !content.is_empty() => {
                    self.saw_content = true;
                    self.queue
                        .push_back(QwenEvent::Thinking(content.to_owned()));
                }
                None => {}
            },
            "web_search" => {
                if let Some(results) = search
                    && self.last_search.as_ref() != Some(&results)
                {
                    self.last_search = Some(results.clone());
                    self.queue.push_back(QwenEvent::WebSearch(results));
                }
            }
            _ => {}
        }
        if let Some(usage) = usage
            && self.last_usage != Some(usage)
        {
            self.last_usage = Some(usage);
            self.queue.push_back(QwenEvent::Usage(usage));
        }
        if phase == "answer" && finished && !self.finished {
            self.finished = true;
            self.queue.push_back(QwenEvent::Finished);
        }
    }

    /// `summary_thought.content` is the whole list so far (a snapshot), not a delta: yield
    /// only what extends the text already yielded. If the upstream rewrote earlier items the
    /// snapshot is no extension, and only items never seen before are yielded.
    /// `summary_title` is a headline of the same thoughts; it is not yielded, so reasoning text
    /// stays one readable sequence instead of interleaving two cumulative lists.
    fn summary_snapshot(&mut self, snapshot: Snapshot<'_>) {
        let items: Vec<String> = match snapshot {
            Snapshot::Items(items) => items
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.into_owned())
                .collect(),
            Snapshot::Text(s) if !s.is_empty() => vec![s.into_owned()],
            _ => return,
        };
        let joined = items.join("\n");
        let new_text = match joined.strip_prefix(self.summary_text.as_str()) {
            Some(rest) => rest.to_owned(),
            None => {
                let fresh: Vec<&str> = items
                    .iter()
                    .filter(|item| !self.summary_items.contains(item))
                    .map(String::as_str)
                    .collect();
                if fresh.is_empty() || self.summary_text.is_empty() {
                    fresh.join("\n")
                } else {
                    format!("\n{}", fresh.join("\n"))
                }
            }
        };
        for item in items {
            if !self.summary_items.contains(&item) {
                self.summary_items.push(item);
            }
        }
        self.summary_text = joined;
        if !new_text.is_empty() {
            self.saw_content = true;
            self.queue.push_back(QwenEvent::Thinking(new_text));
        }
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
