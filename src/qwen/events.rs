//! One SSE `data:` payload of a completion → zero or more typed [`QwenEvent`]s.
//!
//! The decoder is pure state, no I/O, so every rule of PROTOCOL.md §5 lives in one testable
//! place: which phases mean answer or reasoning, how cumulative `thinking_summary` snapshots
//! become deltas without repeats, when usage is worth reporting, and how the end of a body is
//! judged (finished, truncated or the "silent block" empty stream). Unknown event kinds,
//! phases and fields are ignored, because the upstream adds them every few weeks.

use std::collections::VecDeque;

use serde_json::Value;

use super::classify::{classify_code, classify_json};
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
        let json: Value = match serde_json::from_str(data) {
            Ok(json) => json,
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
        if let Some(err) = classify_json(&json) {
            return Err(err);
        }
        if let Some(created) = json.get("response.created") {
            self.created(created);
        } else if json.get("response.info").is_some() {
            self.queue.push_back(QwenEvent::KeepAlive);
        } else if json.get("choices").is_some() || json.get("usage").is_some() {
            if self.is_other_candidate(&json) {
                return Ok(Step::Continue);
            }
            self.delta(&json);
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

    fn created(&mut self, created: &Value) {
        let index_is_primary = match created.get("response_index") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim() == "0",
            Some(Value::Number(n)) => n.as_u64() == Some(0),
            Some(_) => false,
        };
        if !index_is_primary {
            return;
        }
        let text = |key: &str| created.get(key).and_then(Value::as_str).map(str::to_owned);
        let response_id = text("response_id").unwrap_or_default();
        if !response_id.is_empty() {
            self.primary_response_id = Some(response_id.clone());
        }
        self.queue.push_back(QwenEvent::Created(Created {
            chat_id: text("chat_id").unwrap_or_default(),
            parent_id: text("parent_id").filter(|p| !p.is_empty()),
            response_id,
        }));
    }

    fn is_other_candidate(&self, json: &Value) -> bool {
        match (
            &self.primary_response_id,
            json.get("response_id").and_then(Value::as_str),
        ) {
            (Some(primary), Some(id)) => primary != id,
            _ => false,
        }
    }

    fn delta(&mut self, json: &Value) {
        let delta = json.pointer("/choices/0/delta");
        let field = |key: &str| delta.and_then(|d| d.get(key)).and_then(Value::as_str);
        // Without `output_schema: "phase"` the upstream omits the phase; the text is the answer.
        let phase = field("phase").unwrap_or("answer");
        let content = field("content").unwrap_or_default();
        let finished = field("status") == Some("finished");
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
            "thinking_summary" => {
                let extra = delta.and_then(|d| d.get("extra"));
                match extra.and_then(|e| e.pointer("/summary_thought/content")) {
                    Some(snapshot) => self.summary_snapshot(snapshot),
                    None if !content.is_empty() => {
                        self.saw_content = true;
                        self.queue
                            .push_back(QwenEvent::Thinking(content.to_owned()));
                    }
                    None => {}
                }
            }
            "web_search" => {
                if let Some(Value::Array(items)) =
                    delta.and_then(|d| d.pointer("/extra/web_search_info"))
                {
                    let results: Vec<SearchResult> = items.iter().map(search_result).collect();
                    if self.last_search.as_ref() != Some(&results) {
                        self.last_search = Some(results.clone());
                        self.queue.push_back(QwenEvent::WebSearch(results));
                    }
                }
            }
            _ => {}
        }
        if let Some(usage) = json.get("usage").and_then(parse_usage)
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
    fn summary_snapshot(&mut self, snapshot: &Value) {
        let items: Vec<String> = match snapshot {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Value::String(s) if !s.is_empty() => vec![s.clone()],
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

fn search_result(item: &Value) -> SearchResult {
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    SearchResult {
        url: text("url"),
        title: text("title"),
        snippet: text("snippet"),
        hostname: text("hostname"),
    }
}

/// Maps both usage generations (PROTOCOL.md §5): `cached_tokens` moved from `usage` into
/// `prompt_tokens_details` in 2026.
fn parse_usage(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let num = |path: &str| usage.pointer(path).and_then(Value::as_u64);
    Some(Usage {
        input_tokens: num("/input_tokens").or(num("/prompt_tokens")).unwrap_or(0),
        output_tokens: num("/output_tokens")
            .or(num("/completion_tokens"))
            .unwrap_or(0),
        reasoning_tokens: num("/output_tokens_details/reasoning_tokens").unwrap_or(0),
        cached_tokens: num("/prompt_tokens_details/cached_tokens")
            .or(num("/cached_tokens"))
            .or(num("/input_tokens_details/cached_tokens"))
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thinking_of(decoder: &mut Decoder) -> Vec<String> {
        decoder
            .queue
            .drain(..)
            .filter_map(|e| match e {
                QwenEvent::Thinking(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn summary(items: &[&str]) -> String {
        serde_json::json!({"choices": [{"delta": {"content": "", "phase": "thinking_summary",
            "extra": {"summary_thought": {"content": items}}, "status": "typing"}}]})
        .to_string()
    }

    #[test]
    fn summary_snapshots_become_deltas() {
        let mut d = Decoder::default();
        for snap in [
            &["a"][..],
            &["a", "b"],
            &["a", "b"],
            &["a", "bc"],
            &["a", "bc", "d"],
        ] {
            d.handle("", &summary(snap)).expect("decodes");
        }
        assert_eq!(thinking_of(&mut d), ["a", "\nb", "c", "\nd"]);
    }

    #[test]
    fn rewritten_snapshot_yields_only_new_items() {
        let mut d = Decoder::default();
        d.handle("", &summary(&["one", "two"])).expect("decodes");
        d.handle("", &summary(&["two", "three"])).expect("decodes");
        d.handle("", &summary(&["two", "three", "four"]))
            .expect("decodes");
        assert_eq!(thinking_of(&mut d), ["one\ntwo", "\nthree", "\nfour"]);
    }

    #[test]
    fn other_candidates_are_ignored() {
        let mut d = Decoder::default();
        let created =
            r#"{"response.created":{"chat_id":"c","response_id":"r0","response_index":"0"}}"#;
        let other =
            r#"{"response.created":{"chat_id":"c","response_id":"r1","response_index":"1"}}"#;
        d.handle("", created).expect("decodes");
        d.handle("", other).expect("decodes");
        let foreign =
            r#"{"choices":[{"delta":{"content":"x","phase":"answer"}}],"response_id":"r1"}"#;
        d.handle("", foreign).expect("decodes");
        assert_eq!(d.queue.len(), 1);
        assert!(matches!(d.queue[0], QwenEvent::Created(_)));
    }

    #[test]
    fn garbage_payloads_are_harmless() {
        let mut d = Decoder::default();
        for junk in [
            "not json",
            "[]",
            "42",
            "{\"choices\": 5}",
            "{\"choices\": [{\"delta\": []}]}",
        ] {
            assert_eq!(d.handle("", junk), Ok(Step::Continue), "{junk}");
        }
        assert!(d.handle("error", "boom").is_err());
        assert_eq!(d.end(), Err(QwenError::EmptyStream));
    }
}
