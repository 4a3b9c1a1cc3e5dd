//! Response objects: `chat.completion`, `chat.completion.chunk` and the legacy
//! `text_completion` (whole and streamed), built as JSON values whose keys and `null`s follow
//! the OpenAI API reference exactly.
//!
//! The official SDKs validate these shapes, so fields OpenAI always sends are always sent, with
//! `null` where we have nothing (`logprobs`, `refusal`, `system_fingerprint`). One deliberate
//! extension: `reasoning_content` (message or delta) carries a thinking model's reasoning, the
//! field name DeepSeek and Qwen's own API use and that Open WebUI and LangChain read. It is left
//! out when there is no reasoning, so strict clients see a plain OpenAI message.
//!
//! Tool calls (design.md §9) render as OpenAI's do: `message.tool_calls` only when there are
//! calls, `content: null` when the calls came without text, and in a stream one delta per call
//! carrying its `index`, `id`, name and whole `arguments`.

use serde_json::{Value, json};

use super::usage::OpenAiUsage;
use crate::session::{FinishReason, ToolCall};

/// A new `chatcmpl-…` id (32 random alphanumerics).
pub fn new_chat_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

/// A new `cmpl-…` id for the legacy endpoint.
pub fn new_completion_id() -> String {
    format!("cmpl-{}", uuid::Uuid::new_v4().simple())
}

/// What every object of one response shares: the same `id`, `created` and `model` on every
/// chunk of a stream, as clients that stitch chunks together expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMeta {
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    /// The model name as the client requested it (including a `-thinking` suffix).
    pub model: String,
}

impl ResponseMeta {
    /// Meta for a chat completion: a fresh `chatcmpl-` id, created now.
    pub fn chat(model: impl Into<String>) -> Self {
        ResponseMeta {
            id: new_chat_id(),
            created: crate::time::unix_now(),
            model: model.into(),
        }
    }

    /// Meta for a legacy completion: a fresh `cmpl-` id, created now.
    pub fn completion(model: impl Into<String>) -> Self {
        ResponseMeta {
            id: new_completion_id(),
            created: crate::time::unix_now(),
            model: model.into(),
        }
    }

    fn object(&self, object: &str, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": choices,
        })
    }
}

/// A whole `chat.completion` object. `content` is `null` when it is empty and there are
/// tool calls, as OpenAI sends it.
pub fn chat_completion(
    meta: &ResponseMeta,
    content: &str,
    reasoning: &str,
    tool_calls: &[ToolCall],
    finish: FinishReason,
    usage: &OpenAiUsage,
) -> Value {
    let content = if content.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        json!(content)
    };
    let mut message = json!({"role": "assistant", "content": content, "refusal": null});
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    if !tool_calls.is_empty() {
        message["tool_calls"] = tool_calls.iter().map(tool_call).collect();
    }
    let choice = json!({
        "index": 0,
        "message": message,
        "logprobs": null,
        "finish_reason": finish.as_str(),
    });
    let mut object = meta.object("chat.completion", json!([choice]));
    object["usage"] = usage.to_value();
    object
}

/// One call as `message.tool_calls[i]` spells it; `arguments` stays the JSON text it is.
fn tool_call(call: &ToolCall) -> Value {
    json!({
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    })
}

/// A whole legacy `text_completion` object.
pub fn text_completion(
    meta: &ResponseMeta,
    text: &str,
    finish: FinishReason,
    usage: &OpenAiUsage,
) -> Value {
    let choice =
        json!({"text": text, "index": 0, "logprobs": null, "finish_reason": finish.as_str()});
    let mut object = meta.object("text_completion", json!([choice]));
    object["usage"] = usage.to_value();
    object
}

/// The chunks of one streamed chat completion.
///
/// Order: [`role`](Self::role), any [`content`](Self::content) and
/// [`reasoning`](Self::reasoning) chunks, any [`tool_call`](Self::tool_call) chunks (after
/// the content), [`finish`](Self::finish), then
/// [`usage`](Self::usage) when `include_usage` was asked for. With `include_usage`, every chunk
/// but the last carries `"usage": null`, as OpenAI's do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatStream {
    pub meta: ResponseMeta,
    pub include_usage: bool,
}

impl ChatStream {
    /// Chunks sharing `meta`.
    pub fn new(meta: ResponseMeta, include_usage: bool) -> Self {
        ChatStream {
            meta,
            include_usage,
        }
    }

    /// The first chunk: `delta = {"role": "assistant", "content": ""}`.
    pub fn role(&self) -> Value {
        self.chunk(json!({"role": "assistant", "content": ""}), None)
    }

    /// A chunk of answer text.
    pub fn content(&self, text: &str) -> Value {
        self.chunk(json!({ "content": text }), None)
    }

    /// A chunk of reasoning text.
    pub fn reasoning(&self, text: &str) -> Value {
        self.chunk(json!({ "reasoning_content": text }), None)
    }

    /// A chunk with the whole call number `index` (0-based, in the order of the answer's
    /// calls): clients accumulate `tool_calls` deltas by `index`, and qwenctl sends each call
    /// once its block is complete, so one delta carries all of it.
    pub fn tool_call(&self, index: usize, call: &ToolCall) -> Value {
        let mut delta = tool_call(call);
        delta["index"] = json!(index);
        self.chunk(json!({ "tool_calls": [delta] }), None)
    }

    /// The terminal chunk: empty delta and the finish reason.
    pub fn finish(&self, reason: FinishReason) -> Value {
        self.chunk(json!({}), Some(reason))
    }

    /// The usage chunk (`choices: []`), sent after the terminal chunk when asked for.
    pub fn usage(&self, usage: &OpenAiUsage) -> Value {
        let mut object = self.meta.object("chat.completion.chunk", json!([]));
        object["usage"] = usage.to_value();
        object
    }

    fn chunk(&self, delta: Value, finish: Option<FinishReason>) -> Value {
        let choice = json!({
            "index": 0,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish.map(FinishReason::as_str),
        });
        let mut object = self.meta.object("chat.completion.chunk", json!([choice]));
        if self.include_usage {
            object["usage"] = Value::Null;
        }
        object
    }
}

/// The chunks of one streamed legacy completion: `text_completion` objects whose
/// `choices[0].text` are deltas, `finish_reason` `null` until the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextStream {
    pub meta: ResponseMeta,
    pub include_usage: bool,
}

impl TextStream {
    /// Chunks sharing `meta`.
    pub fn new(meta: ResponseMeta, include_usage: bool) -> Self {
        TextStream {
            meta,
            include_usage,
        }
    }

    /// A chunk of text.
    pub fn text(&self, text: &str) -> Value {
        self.chunk(text, None)
    }

    /// The terminal chunk: empty text and the finish reason.
    pub fn finish(&self, reason: FinishReason) -> Value {
        self.chunk("", Some(reason))
    }

    /// The usage chunk (`choices: []`), sent after the terminal chunk when asked for.
    pub fn usage(&self, usage: &OpenAiUsage) -> Value {
        let mut object = self.meta.object("text_completion", json!([]));
        object["usage"] = usage.to_value();
        object
    }

    fn chunk(&self, text: &str, finish: Option<FinishReason>) -> Value {
        let choice = json!({
            "text": text,
            "index": 0,
            "logprobs": null,
            "finish_reason": finish.map(FinishReason::as_str),
        });
        let mut object = self.meta.object("text_completion", json!([choice]));
        if self.include_usage {
            object["usage"] = Value::Null;
        }
        object
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
