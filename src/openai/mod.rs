//! OpenAI wire types and the pure conversions between them and the upstream's types.
//!
//! Everything here is a function of its inputs: no I/O, no async; only the id and timestamp
//! helpers ([`new_chat_id`], [`ResponseMeta::chat`], which reads [`crate::time`]) reach for
//! randomness or the clock. That keeps the strict part of the proxy — the exact JSON shapes
//! the official SDKs, LangChain and Open WebUI parse — testable byte for byte, apart from the
//! HTTP plumbing in `proxy`.
//!
//! - [`request`]: request bodies of `/v1/chat/completions` and `/v1/completions`, validated so
//!   that every rejection names the offending parameter;
//! - [`usage`]: the `usage` object, from upstream counts or from a documented estimate;
//! - [`response`]: `chat.completion`, `chat.completion.chunk` and `text_completion` objects;
//! - [`models`]: the model list with its virtual `-thinking`/`-search` variants;
//! - [`limit`]: `max_tokens` and `stop` applied to a streamed answer;
//! - [`fold`]: an OpenAI message history turned into the single user message the upstream takes.

pub mod fold;
pub mod limit;
pub mod models;
mod params;
pub mod request;
pub mod response;
pub mod usage;

#[cfg(test)]
mod fuzz_tests;

pub use fold::{fold_messages, fold_new_turn};
pub use limit::{FinishReason, OutputLimiter, Step};
pub use models::{ResolvedModel, model_entry, model_list, model_object, resolve_model};
pub use request::{
    ChatRequest, CompletionRequest, InvalidRequest, Message, Role, parse_chat_request,
    parse_completion_request,
};
pub use response::{
    ChatStream, ResponseMeta, SSE_DONE, TextStream, chat_completion, new_chat_id,
    new_completion_id, sse_data, text_completion,
};
pub use usage::{OpenAiUsage, estimate_tokens, estimated_usage, usage_from_qwen};
