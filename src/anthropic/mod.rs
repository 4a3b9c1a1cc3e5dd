//! Anthropic Messages API wire types (design.md §10) and the pure conversions between them
//! and the engine's neutral types, so that Claude Code and the Anthropic SDKs run on the same
//! engine, store and tool emulation as OpenAI clients.
//!
//! Like [`crate::openai`], this is one wire format's vocabulary and nothing more: no I/O, no
//! async; only [`MessageMeta::new`] reaches for randomness. The HTTP side (routes, auth,
//! headers, the SSE writer) lives in `proxy`.
//!
//! - [`request`]: bodies of `POST /v1/messages` and `/v1/messages/count_tokens`, validated so
//!   that every rejection names its field the way Anthropic does; `messages` reads the
//!   content blocks, `tools` the tools, tool choice, thinking and output format;
//! - [`response`]: the `message` object, ids, stop reasons, thinking signatures, errors;
//! - [`stream`]: the server-sent events of a streamed message;
//! - [`models`]: the model list in Anthropic's shape.

mod fields;
mod messages;
pub mod models;
pub mod request;
pub mod response;
pub mod stream;
mod tools;

#[cfg(test)]
mod tests;

pub use models::{model_entry, model_list};
pub use request::{
    InvalidRequest, MessagesRequest, input_tokens, parse_count_tokens_request,
    parse_messages_request,
};
pub use response::{
    MessageMeta, error_body, error_type, message, signature, stop_reason, tool_use_id,
};
pub use stream::MessageStream;
