//! The streaming reader of a model's answer under the tool-calling convention (design.md §9):
//! it owns where the text before the first call block ends, where each block begins and
//! ends, and what a block's inner text means as calls. Answers arrive in deltas cut anywhere,
//! so markers are recognised across cuts, and only a tail that could still become an opening
//! marker is ever held back, which keeps the streamed text as prompt as the upstream's. Real
//! models drift from the convention, so a block is read tolerantly: a ```` ```json ```` fence,
//! arguments as a JSON-encoded string or named `parameters` or `input`, several calls as an
//! array, a missing end marker at the end of the answer, prose after the last block. What
//! cannot be read as calls is reported, not guessed at: the answer loop decides whether it
//! deserves a corrective turn.

use serde_json::{Map, Value};

use super::markup::{CALL_CLOSE, CALL_OPEN};

/// What the parser makes of the answer so far, in the answer's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Text to pass on (only text before the first call block; byte for byte).
    Text(String),
    /// One call parsed from a complete block (a block holding an array yields several, in order).
    Call(RawCall),
    /// A block that could not be read as a call; `raw` is the block's inner text, `reason` short
    /// and human.
    Malformed { raw: String, reason: String },
}

/// One call as the model wrote it: the name is not yet checked against the declared tools,
/// nor the arguments against the tool's schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawCall {
    pub name: String,
    /// Always a JSON object.
    pub arguments: Value,
}

/// Where the answer read so far stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Place {
    /// No block has opened: text passes on.
    #[default]
    Before,
    /// Inside a block: text is the block's inner text.
    Inside,
    /// After a block closed: text outside blocks is dropped.
    Between,
}

/// Reads one answer, delta by delta (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct ToolParser {
    place: Place,
    /// Text not yet decided: outside a block, a tail that may be the start of an opening
    /// marker; inside one, the block's inner text so far.
    pending: String,
    /// Inside a block, where the next search for a marker starts: nothing before it can begin
    /// one that matters, so each push scans only the new text plus a marker's length.
    scan_from: usize,
    saw_block: bool,
}

impl ToolParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the next piece of the answer; returns what it completes.
    pub fn push(&mut self, delta: &str) -> Vec<Event> {
        self.pending.push_str(delta);
        let mut events = Vec::new();
        loop {
            let more = match self.place {
                Place::Before | Place::Between => self.outside(&mut events),
                Place::Inside => self.inside(&mut events),
            };
            if !more {
                return events;
            }
        }
    }

    /// End of answer: releases held text, parses an unterminated last block.
    pub fn finish(&mut self) -> Vec<Event> {
        let rest = std::mem::take(&mut self.pending);
        self.scan_from = 0;
        match self.place {
            Place::Before if rest.is_empty() => Vec::new(),
            Place::Before => vec![Event::Text(rest)],
            Place::Between => Vec::new(),
            Place::Inside => {
                self.place = Place::Between;
                // An answer cut off inside the end marker leaves a piece of it behind.
                let end = held_tail_start(&rest, CALL_CLOSE);
                let inner = rest.get(..end).unwrap_or(&rest);
                block_events(inner, true)
            }
        }
    }

    /// True once any block opened (calls or malformed).
    pub fn saw_block(&self) -> bool {
        self.saw_block
    }

    /// Outside a block: pass text on (before the first block) or drop it (after one) up to the
    /// next opening marker. Returns whether a block opened, so there is more to read.
    fn outside(&mut self, events: &mut Vec<Event>) -> bool {
        let (cut, opens) = match self.pending.find(CALL_OPEN) {
            Some(at) => (at, true),
            None => (held_tail_start(&self.pending, CALL_OPEN), false),
        };
        if self.place == Place::Before && cut > 0 {
            events.push(Event::Text(self.pending.drain(..cut).collect()));
        } else {
            self.pending.drain(..cut);
        }
        if opens {
            self.pending.drain(..CALL_OPEN.len());
            self.open_block();
        }
        opens
    }

    /// Inside a block: look for its end. Returns whether the block ended, so there is more to
    /// read.
    fn inside(&mut self, events: &mut Vec<Event>) -> bool {
        loop {
            let from = Some(self.scan_from)
                .filter(|&at| self.pending.is_char_boundary(at))
                .unwrap_or(0);
            let hay = self.pending.get(from..).unwrap_or_default();
            let close = hay.find(CALL_CLOSE).map(|at| at + from);
            let open = hay.find(CALL_OPEN).map(|at| at + from);
            match (close, open) {
                (Some(close), open) if open.is_none_or(|open| close < open) => {
                    let inner: String = self.pending.drain(..close).collect();
                    self.pending.drain(..CALL_CLOSE.len());
                    self.place = Place::Between;
                    self.scan_from = 0;
                    events.extend(block_events(&inner, false));
                    return true;
                }
                (_, Some(open)) => {
                    // A block opening inside a block: either the model left out the end marker
                    // between two calls, or the marker is text inside the call (a string
                    // argument). Only what reads as calls ends the first block.
                    let before = self.pending.get(..open).unwrap_or_default();
                    let ended = if before.trim().is_empty() {
                        Some(Vec::new())
                    } else {
                        read_block(before, false).ok()
                    };
                    match ended {
                        Some(calls) => {
                            self.pending.drain(..open + CALL_OPEN.len());
                            self.scan_from = 0;
                            events.extend(calls.into_iter().map(Event::Call));
                        }
                        None => self.scan_from = open + CALL_OPEN.len(),
                    }
                }
                _ => {
                    // Neither marker yet: only the last few bytes can start one that the next
                    // delta completes.
                    let mut next = self.pending.len().saturating_sub(CALL_CLOSE.len() - 1);
                    while !self.pending.is_char_boundary(next) {
                        next -= 1;
                    }
                    self.scan_from = self.scan_from.max(next);
                    return false;
                }
            }
        }
    }

    fn open_block(&mut self) {
        self.place = Place::Inside;
        self.scan_from = 0;
        self.saw_block = true;
    }
}

/// Where the longest tail of `text` that is a proper prefix of `marker` starts (`text.len()`
/// when none is): the part that must wait for the next delta.
fn held_tail_start(text: &str, marker: &str) -> usize {
    let first = text.len().saturating_sub(marker.len().saturating_sub(1));
    (first..text.len())
        .find(|&at| text.get(at..).is_some_and(|tail| marker.starts_with(tail)))
        .unwrap_or(text.len())
}

/// The events of one block: its calls, or why it holds none.
fn block_events(inner: &str, at_end: bool) -> Vec<Event> {
    match read_block(inner, at_end) {
        Ok(calls) => calls.into_iter().map(Event::Call).collect(),
        Err(reason) => vec![Event::Malformed {
            raw: inner.to_owned(),
            reason,
        }],
    }
}

/// The calls in a block's inner text, all or none. `at_end` is the unterminated last block of
/// an answer, where prose after the JSON is the model talking on, not part of the block.
fn read_block(inner: &str, at_end: bool) -> Result<Vec<RawCall>, String> {
    let body = unfence(inner.trim());
    if body.is_empty() {
        return Err("the block is empty".to_owned());
    }
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_str(body).into_iter::<Value>() {
        match value {
            Ok(value) => values.push(value),
            Err(_) if at_end && !values.is_empty() => break,
            Err(_) => return Err("the block is not JSON".to_owned()),
        }
    }
    let mut items = Vec::new();
    for value in values {
        match value {
            Value::Array(calls) => items.extend(calls),
            Value::Object(mut object) if !object.contains_key("name") => {
                match object.remove("tool_calls") {
                    Some(Value::Array(calls)) => items.extend(calls),
                    Some(other) => items.push(other),
                    None => items.push(Value::Object(object)),
                }
            }
            other => items.push(other),
        }
    }
    if items.is_empty() {
        return Err("the block holds no call".to_owned());
    }
    let several = items.len() > 1;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            read_call(item).map_err(|reason| match several {
                true => format!("call {}: {reason}", i + 1),
                false => reason,
            })
        })
        .collect()
}

/// `text` without a surrounding Markdown fence (its info string included).
fn unfence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// One call object: `{"name", "arguments"}`, the arguments also named `parameters` or
/// `input`, or OpenAI's own `{"type": "function", "function": {…}}`.
fn read_call(item: Value) -> Result<RawCall, String> {
    let Value::Object(mut call) = item else {
        return Err("a call must be a JSON object".to_owned());
    };
    if !call.contains_key("name")
        && let Some(Value::Object(function)) = call.remove("function")
    {
        call = function;
    }
    let name = match call.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => return Err("the call has no name".to_owned()),
    };
    let arguments = ["arguments", "parameters", "input"]
        .into_iter()
        .find_map(|key| call.remove(key));
    let arguments = match arguments {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(arguments)) => Value::Object(arguments),
        Some(Value::String(text)) if text.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(arguments)) => Value::Object(arguments),
            _ => return Err("arguments must be a JSON object".to_owned()),
        },
        Some(_) => return Err("arguments must be a JSON object".to_owned()),
    };
    Ok(RawCall { name, arguments })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
