//! A streamed response as the Responses API's server-sent events: `event: TYPE\ndata:
//! {"type": TYPE, "sequence_number": n, …}\n\n`, sequence numbers counting from 0, no
//! `[DONE]`.
//!
//! The order is the API's: `response.created` and `response.in_progress` (the object in
//! progress, no output yet); then each output item as `response.output_item.added`, its own
//! events and `response.output_item.done`, one item open at a time, output indexes counting
//! from 0; last `response.completed` (or `response.incomplete`, `response.failed`) with the
//! whole object. [`ResponseStream`] keeps that order whatever order it is fed in: a piece of a
//! new kind closes the open item and opens one of its own kind, so the caller only forwards
//! the engine's pieces. An item's own events:
//! - `reasoning`: `response.reasoning_summary_part.added`, `…_summary_text.delta`s, then
//!   `…_summary_text.done` and `…_summary_part.done` (the reasoning is sent as its summary);
//! - `message`: `response.content_part.added`, `response.output_text.delta`s, then
//!   `response.output_text.done` and `response.content_part.done`;
//! - `function_call`: a call arrives whole (the engine hands out complete calls), so its item
//!   opens, carries all of its arguments in one `response.function_call_arguments.delta`, and
//!   closes at once after `response.function_call_arguments.done`.
//!
//! Item ids come from [`item_id`], so the events, the final object and a later retrieval of
//! the stored response agree. The final object's `output` is the items exactly as their
//! `response.output_item.done` events carried them.

use bytes::Bytes;
use serde_json::{Value, json};

use super::response::{
    ItemKind, ResponseMeta, Status, arguments, function_call_item, item_id, message_item,
    output_text, reasoning_item, render,
};
use crate::session::{ToolCall, Usage};

/// The item being streamed, with its id and its text so far.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    None,
    Reasoning { id: String, text: String },
    Message { id: String, text: String },
}

/// The events of one streamed response. See the module docs.
#[derive(Debug, Clone)]
pub struct ResponseStream {
    meta: ResponseMeta,
    echo: Value,
    /// The sequence number of the next event.
    sequence: u64,
    open: Open,
    /// The output items closed so far, as `response.output_item.done` carried them; the
    /// open item's output index is their count.
    done: Vec<Value>,
    /// A message or a call was streamed: the answer said something.
    answered: bool,
    started: bool,
    finished: bool,
}

impl ResponseStream {
    /// The events of the response `meta`, whose object echoes `echo` (the request's
    /// [`ResponsesRequest::echo`](super::ResponsesRequest::echo)).
    pub fn new(meta: ResponseMeta, echo: Value) -> Self {
        ResponseStream {
            meta,
            echo,
            sequence: 0,
            open: Open::None,
            done: Vec::new(),
            answered: false,
            started: false,
            finished: false,
        }
    }

    /// The response's meta (its id, for the store).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// `response.created` and `response.in_progress`, each with the object in progress. Sent
    /// once: the other methods send them first if they were not.
    pub fn start(&mut self) -> Vec<Bytes> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        let response = render(
            &self.meta,
            &self.echo,
            Status::InProgress,
            Vec::new(),
            None,
            None,
            None,
        );
        let response = response.to_string();
        vec![
            self.response_event("response.created", &response),
            self.response_event("response.in_progress", &response),
        ]
    }

    /// Reasoning text: a `response.reasoning_summary_text.delta`, in a reasoning item opened
    /// if needed (the open item is closed first).
    pub fn reasoning(&mut self, text: &str) -> Vec<Bytes> {
        let mut out = self.start();
        if text.is_empty() || self.finished {
            return out;
        }
        if !matches!(self.open, Open::Reasoning { .. }) {
            out.extend(self.close(Status::Completed));
            let id = item_id(ItemKind::Reasoning, &self.meta.id, self.index());
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": self.index(), "item": reasoning_item(&id, "")}),
            ));
            out.push(self.event(
                "response.reasoning_summary_part.added",
                json!({
                    "item_id": id,
                    "output_index": self.index(),
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""},
                }),
            ));
            self.open = Open::Reasoning {
                id,
                text: String::new(),
            };
        }
        let Open::Reasoning { id, text: so_far } = &mut self.open else {
            return out;
        };
        so_far.push_str(text);
        let data = json!({
            "item_id": id,
            "output_index": self.done.len(),
            "summary_index": 0,
            "delta": text,
        });
        out.push(self.event("response.reasoning_summary_text.delta", data));
        out
    }

    /// Answer text: a `response.output_text.delta`, in a message item opened if needed (the
    /// open item is closed first).
    pub fn text(&mut self, text: &str) -> Vec<Bytes> {
        let mut out = self.start();
        if text.is_empty() || self.finished {
            return out;
        }
        if !matches!(self.open, Open::Message { .. }) {
            out.extend(self.close(Status::Completed));
            out.extend(self.open_message());
        }
        let Open::Message { id, text: so_far } = &mut self.open else {
            return out;
        };
        so_far.push_str(text);
        let data = json!({
            "item_id": id,
            "output_index": self.done.len(),
            "content_index": 0,
            "delta": text,
            "logprobs": [],
        });
        out.push(self.event("response.output_text.delta", data));
        out
    }

    /// One whole tool call: its own `function_call` item, opened (after closing the open
    /// item), given its arguments in one delta, and closed.
    pub fn function_call(&mut self, call: &ToolCall) -> Vec<Bytes> {
        let mut out = self.start();
        if self.finished {
            return out;
        }
        out.extend(self.close(Status::Completed));
        let index = self.index();
        let id = item_id(ItemKind::FunctionCall, &self.meta.id, index);
        out.push(self.event(
            "response.output_item.added",
            json!({"output_index": index, "item": function_call_item(&id, call, "in_progress")}),
        ));
        out.push(self.event(
            "response.function_call_arguments.delta",
            json!({"item_id": id, "output_index": index, "delta": arguments(call)}),
        ));
        out.push(self.event(
            "response.function_call_arguments.done",
            json!({
                "item_id": id,
                "output_index": index,
                "name": call.name,
                "arguments": arguments(call),
            }),
        ));
        let item = function_call_item(&id, call, "completed");
        out.push(self.event(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        ));
        self.done.push(item);
        self.answered = true;
        out
    }

    /// The end: the open item closed, then `response.completed`, or `response.incomplete`
    /// (with `incomplete_details.reason`, `max_output_tokens` when `None`) for
    /// [`Status::Incomplete`], or `response.failed` for [`Status::Failed`] (prefer
    /// [`ResponseStream::fail`], which says why); [`Status::InProgress`] reads as completed.
    /// A response that streamed no text and no call gets an empty message item first, as its
    /// object would have. Nothing is sent after it.
    pub fn finish(
        &mut self,
        status: Status,
        usage: &Usage,
        incomplete: Option<&str>,
    ) -> Vec<Bytes> {
        let mut out = self.start();
        if self.finished {
            return out;
        }
        let status = match status {
            Status::InProgress => Status::Completed,
            status => status,
        };
        if !self.answered && status != Status::Failed {
            out.extend(self.close(status));
            out.extend(self.open_message());
        }
        out.extend(self.close(status));
        self.finished = true;
        let response = render(
            &self.meta,
            &self.echo,
            status,
            self.done.clone(),
            Some(usage),
            incomplete,
            None,
        );
        let name = match status {
            Status::Incomplete => "response.incomplete",
            Status::Failed => "response.failed",
            Status::InProgress | Status::Completed => "response.completed",
        };
        out.push(self.response_event(name, &response.to_string()));
        out
    }

    /// The end of a response that failed after the stream began: `response.failed` with the
    /// object (status `failed`, `error: {code, message}`, the output so far, the open item
    /// marked incomplete). No item events are sent for the open item: it did not finish.
    pub fn fail(&mut self, code: &str, message: &str) -> Vec<Bytes> {
        let mut out = self.start();
        if self.finished {
            return out;
        }
        self.finished = true;
        let mut output = self.done.clone();
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Reasoning { id, text } => output.push(reasoning_item(&id, &text)),
            Open::Message { id, text } => output.push(message_item(&id, &text, "incomplete")),
        }
        let response = render(
            &self.meta,
            &self.echo,
            Status::Failed,
            output,
            None,
            None,
            Some((code, message)),
        );
        out.push(self.response_event("response.failed", &response.to_string()));
        out
    }

    /// The keep-alive: an SSE comment, which the SDKs skip.
    pub fn keepalive() -> Bytes {
        Bytes::from_static(b": keep-alive\n\n")
    }

    /// The output index of the next (or the open) item.
    fn index(&self) -> usize {
        self.done.len()
    }

    /// Opens a message item: `response.output_item.added`, `response.content_part.added`.
    fn open_message(&mut self) -> Vec<Bytes> {
        let index = self.index();
        let id = item_id(ItemKind::Message, &self.meta.id, index);
        let events = vec![
            self.event(
                "response.output_item.added",
                json!({"output_index": index, "item": message_item(&id, "", "in_progress")}),
            ),
            self.event(
                "response.content_part.added",
                json!({
                    "item_id": id,
                    "output_index": index,
                    "content_index": 0,
                    "part": output_text(""),
                }),
            ),
        ];
        self.open = Open::Message {
            id,
            text: String::new(),
        };
        self.answered = true;
        events
    }

    /// Closes the open item, if any, in a response of `status` (which decides a message's
    /// status).
    fn close(&mut self, status: Status) -> Vec<Bytes> {
        let index = self.index();
        let (events, item) = match std::mem::replace(&mut self.open, Open::None) {
            Open::None => return Vec::new(),
            Open::Reasoning { id, text } => {
                let part = json!({"type": "summary_text", "text": text});
                let events = vec![
                    self.event(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                    ),
                    self.event(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part}),
                    ),
                ];
                (events, reasoning_item(&id, &text))
            }
            Open::Message { id, text } => {
                let events = vec![
                    self.event(
                        "response.output_text.done",
                        json!({
                            "item_id": id,
                            "output_index": index,
                            "content_index": 0,
                            "text": text,
                            "logprobs": [],
                        }),
                    ),
                    self.event(
                        "response.content_part.done",
                        json!({
                            "item_id": id,
                            "output_index": index,
                            "content_index": 0,
                            "part": output_text(&text),
                        }),
                    ),
                ];
                (events, message_item(&id, &text, status.of_message()))
            }
        };
        let mut events = events;
        events.push(self.event(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        ));
        self.done.push(item);
        events
    }

    /// One event: `data` with its `type` and the next sequence number.
    fn event(&mut self, kind: &str, mut data: Value) -> Bytes {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
    }

    /// An event carrying the whole `response` object, already written as JSON: the same
    /// bytes as [`Self::event`] gives (its keys in serde_json's order), without copying the
    /// object (which echoes the request's tools, tens of KB for an agent) into a new tree.
    fn response_event(&mut self, kind: &'static str, response: &str) -> Bytes {
        let sequence = self.sequence;
        self.sequence += 1;
        Bytes::from(format!(
            "event: {kind}\ndata: {{\"response\":{response},\"sequence_number\":{sequence},\"type\":\"{kind}\"}}\n\n"
        ))
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

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
