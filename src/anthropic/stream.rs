//! A streamed answer as Anthropic's server-sent events: `event: NAME\ndata: {json}\n\n`.
//!
//! The order is fixed by the API: `message_start`; then each content block as
//! `content_block_start`, its `content_block_delta`s and `content_block_stop`, one block open
//! at a time, indexes counting from 0; then `message_delta` (stop reason, output tokens) and
//! `message_stop`. [`MessageStream`] keeps that order whatever order it is fed in: it opens a
//! block when a piece of a new kind arrives and closes the open one first, so the caller only
//! forwards the engine's pieces. A thinking block is closed with its `signature_delta`, as
//! Anthropic's are (clients keep the signature to send the block back). A tool call arrives
//! whole (the engine hands out complete calls), so its block opens, carries all of its
//! arguments in one `input_json_delta` and closes at once.

use bytes::Bytes;
use serde_json::{Value, json};

use super::response::{MessageMeta, matched_stop, signature, stop_reason, tool_use_id, usage};
use crate::session::{FinishReason, ToolCall};

/// The block being streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    None,
    /// A thinking block, with its text so far (for the signature).
    Thinking(String),
    Text,
}

/// The events of one streamed message. See the module docs.
#[derive(Debug, Clone)]
pub struct MessageStream {
    meta: MessageMeta,
    input_tokens: u64,
    open: Open,
    /// The index the next block gets.
    next_index: u64,
    started: bool,
    finished: bool,
}

impl MessageStream {
    /// The events of the message `meta`, whose prompt is `input_tokens` long.
    pub fn new(meta: MessageMeta, input_tokens: u64) -> Self {
        MessageStream {
            meta,
            input_tokens,
            open: Open::None,
            next_index: 0,
            started: false,
            finished: false,
        }
    }

    /// `message_start`: the message with no content yet and the input tokens. Output tokens
    /// start at 1, as Anthropic's do; `message_delta` gives the real count. Sent once: the
    /// other methods send it first if it was not.
    pub fn start(&mut self) -> Vec<Bytes> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        let message = json!({
            "id": self.meta.id,
            "type": "message",
            "role": "assistant",
            "model": self.meta.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage(self.input_tokens, 1),
        });
        vec![event(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        )]
    }

    /// Reasoning text: a `thinking_delta`, in a thinking block opened if needed.
    pub fn thinking(&mut self, text: &str) -> Vec<Bytes> {
        let mut out = self.start();
        if text.is_empty() || self.finished {
            return out;
        }
        if !matches!(self.open, Open::Thinking(_)) {
            out.extend(self.close());
            out.push(self.open_block(json!({"type": "thinking", "thinking": "", "signature": ""})));
            self.open = Open::Thinking(String::new());
        }
        if let Open::Thinking(so_far) = &mut self.open {
            so_far.push_str(text);
        }
        out.push(self.delta(json!({"type": "thinking_delta", "thinking": text})));
        out
    }

    /// Answer text: a `text_delta`, in a text block opened if needed (a thinking block is
    /// closed first).
    pub fn text(&mut self, text: &str) -> Vec<Bytes> {
        let mut out = self.start();
        if text.is_empty() || self.finished {
            return out;
        }
        if self.open != Open::Text {
            out.extend(self.close());
            out.push(self.open_block(json!({"type": "text", "text": ""})));
            self.open = Open::Text;
        }
        out.push(self.delta(json!({"type": "text_delta", "text": text})));
        out
    }

    /// One whole tool call: its own `tool_use` block, opened (after closing the open block),
    /// filled with the arguments in one `input_json_delta`, and closed.
    pub fn tool_use(&mut self, call: &ToolCall) -> Vec<Bytes> {
        let mut out = self.start();
        if self.finished {
            return out;
        }
        out.extend(self.close());
        out.push(self.open_block(json!({
            "type": "tool_use",
            "id": tool_use_id(&call.id),
            "name": call.name,
            "input": {},
        })));
        let arguments = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            call.arguments.as_str()
        };
        out.push(self.delta(json!({"type": "input_json_delta", "partial_json": arguments})));
        out.push(self.stop_block());
        out
    }

    /// The end: the open block closed, `message_delta` with the stop reason and the output
    /// tokens, `message_stop`. Nothing is sent after it.
    pub fn finish(
        &mut self,
        finish: FinishReason,
        stop_sequence: Option<&str>,
        output_tokens: u64,
    ) -> Vec<Bytes> {
        let mut out = self.start();
        if self.finished {
            return out;
        }
        out.extend(self.close());
        self.finished = true;
        out.push(event(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {
                    "stop_reason": stop_reason(finish, stop_sequence),
                    "stop_sequence": matched_stop(finish, stop_sequence),
                },
                "usage": {"output_tokens": output_tokens},
            }),
        ));
        out.push(event("message_stop", &json!({"type": "message_stop"})));
        out
    }

    /// The keep-alive event.
    pub fn ping() -> Bytes {
        Bytes::from_static(b"event: ping\ndata: {\"type\":\"ping\"}\n\n")
    }

    /// The event that ends a stream which failed after it began.
    pub fn error(kind: &str, message: &str) -> Bytes {
        event("error", &super::response::error_body(kind, message))
    }

    /// Closes the open block, if any: a thinking block gets its signature first.
    fn close(&mut self) -> Vec<Bytes> {
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => Vec::new(),
            Open::Text => vec![self.stop_block()],
            Open::Thinking(thinking) => {
                let signature = signature(&thinking);
                vec![
                    self.delta(json!({"type": "signature_delta", "signature": signature})),
                    self.stop_block(),
                ]
            }
        }
    }

    /// `content_block_start` of a new block; the block's index is the current one until it
    /// stops.
    fn open_block(&mut self, block: Value) -> Bytes {
        event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.next_index, "content_block": block}),
        )
    }

    fn delta(&self, delta: Value) -> Bytes {
        event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": self.next_index, "delta": delta}),
        )
    }

    fn stop_block(&mut self) -> Bytes {
        let stop = event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": self.next_index}),
        );
        self.next_index += 1;
        stop
    }
}

/// Several events as one chunk (`None` when there are none), for writers that send one chunk
/// per piece.
pub fn concat(events: Vec<Bytes>) -> Option<Bytes> {
    match events.len() {
        0 => None,
        1 => events.into_iter().next(),
        _ => Some(Bytes::from(events.concat())),
    }
}

/// One event: `event: NAME\ndata: JSON\n\n`.
fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
