//! OpenAI Responses API wire types (design.md §11) and the pure conversions between them and
//! the engine's neutral types, so that Codex CLI, the Agents SDK and the AI SDK's default
//! provider run on the same engine, store and tool emulation as chat-completions clients.
//!
//! Like [`crate::openai`] and [`crate::anthropic`], this is one wire format's vocabulary and
//! nothing more: no I/O, no async; only [`ResponseMeta::new`] reaches for randomness and the
//! clock. The HTTP side (routes, the SSE writer, the store of responses) lives in `proxy`.
//! Errors are OpenAI's: a refused request is a [`crate::openai::InvalidRequest`] naming its
//! parameter.
//!
//! - [`request`]: the body of `POST /v1/responses`, validated so that every rejection names
//!   its parameter; `input` reads the input items into messages, `tools` the tools, tool
//!   choice, reasoning effort and text format;
//! - [`response`]: the `response` object, its output items and their ids, usage, and the
//!   input-item list of `GET /v1/responses/{id}/input_items`;
//! - [`stream`]: the server-sent events of a streamed response.

mod fields;
mod input;
pub mod request;
pub mod response;
pub mod stream;
mod tools;

#[cfg(test)]
mod tests;

pub use request::{ResponsesRequest, parse_responses_request};
pub use response::{
    ItemKind, Output, ResponseMeta, Status, input_item_values, input_items, item_id, item_list,
    output_items, response_object, usage_object,
};
pub use stream::ResponseStream;
