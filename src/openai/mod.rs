//! OpenAI wire types and the pure conversions between them and the upstream's types.
//!
//! This is one wire format's vocabulary: the engine's neutral types (messages, usage, finish
//! reasons, the model catalog) live in [`crate::session`], and this module only converts to
//! and from them. Everything here is a function of its inputs: no I/O, no async; only the id
//! and timestamp helpers ([`new_chat_id`], [`ResponseMeta::chat`], which reads
//! [`crate::time`]) reach for randomness or the clock. That keeps the strict part of the
//! proxy — the exact JSON shapes the official SDKs, LangChain and Open WebUI parse — testable
//! byte for byte, apart from the HTTP plumbing in `proxy`.
//!
//! - [`request`]: request bodies of `/v1/chat/completions` and `/v1/completions`, validated so
//!   that every rejection names the offending parameter; [`messages`] reads the chat history;
//! - [`tools`]: the tool declarations, the tool choice and the response format of a chat
//!   request, deprecated spellings included;
//! - [`usage`]: the `usage` object, rendered from the engine's counts;
//! - [`response`]: `chat.completion`, `chat.completion.chunk` and `text_completion` objects;
//! - [`models`]: the model list with its virtual `-thinking`/`-search` variants.

pub(crate) mod body;
pub(crate) mod item;
mod messages;
mod models;
pub(crate) mod params;
mod request;
pub(crate) mod response;
mod tools;
mod usage;

#[cfg(test)]
mod tests;

pub(crate) use models::{model_entry, model_list};
pub use params::IGNORED as IGNORED_CHAT_PARAMS;
pub use request::{
    ChatRequest, CompletionRequest, InvalidRequest, parse_chat_request, parse_completion_request,
};
pub(crate) use response::{ChatStream, ResponseMeta, TextStream, chat_completion, text_completion};
pub(crate) use usage::OpenAiUsage;
